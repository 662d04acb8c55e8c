/** An in-memory file tree for config tests: readFile/listDir as loadConfig passes them. */
export function memoryFiles(files: Readonly<Record<string, string>>): { readFile: (p: string) => string; listDir: (p: string) => string[] } {
  const missing = (p: string): Error => Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
  return {
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw missing(p);
      return text;
    },
    listDir: (d) => {
      const dir = d === '.' ? '' : d.endsWith('/') ? d : `${d}/`;
      const names = new Set<string>();
      for (const p of Object.keys(files)) {
        if (!p.startsWith(dir)) continue;
        const rest = p.slice(dir.length);
        names.add(rest.split('/')[0] as string);
      }
      if (names.size === 0) throw missing(d);
      return [...names];
    },
  };
}
