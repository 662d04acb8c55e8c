/*
 * What the addon's C files share: the Instant conversion (ntpkit_native.c),
 * the timex object (clock_adjtime.c), the UDP socket class (udp_socket.c) and
 * the PTP hardware clock readers (phc.c) and the process calls (process.c),
 * registered by the module init.
 */
#ifndef NTPKIT_NATIVE_H
#define NTPKIT_NATIVE_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

/* A timespec as an ntpkit Instant (BigInt). On failure: NULL, with an exception pending. */
napi_value ntpkit_instant_of(napi_env env, int64_t sec, int64_t nsec);

struct timex;
/* A struct timex and clock_adjtime's return value as a JS object (RawTimex in src/clock/native.ts). On failure: NULL, with an exception pending. */
napi_value ntpkit_timex_object(napi_env env, const struct timex *tx, int state);

/* Adds clock_adjtime.c's clock-changing entry points (adjtimexWrite, adjtimeSlew, ...) to `exports`. */
napi_status ntpkit_clock_adjtime_register(napi_env env, napi_value exports);

/* Adds phc.c's PTP hardware clock readers (phcOpen, phcRead, phcClose) to `exports`. */
napi_status ntpkit_phc_register(napi_env env, napi_value exports);

/* Adds shm_segment.c's NTP SHM segment reader (shmAttach, shmRead, shmDetach) to `exports`. */
napi_status ntpkit_shm_register(napi_env env, napi_value exports);

/* Adds the UdpSocket class to `exports`. */
napi_status ntpkit_udp_register(napi_env env, napi_value exports);

/* Adds unix_dgram.c's UnixDgramSocket class (chronyc's command socket) to `exports`. */
napi_status ntpkit_unix_dgram_register(napi_env env, napi_value exports);

/* Adds process.c's memLockAll, schedFifo, hwTimestampInfo, userByName, dropRoot and interfaceIndex to `exports`. */
napi_status ntpkit_process_register(napi_env env, napi_value exports);

/* Adds aes_siv.c's sivSeal and sivOpen (AES-SIV through Node's OpenSSL) to `exports`; adds nothing when that OpenSSL has no SIV. */
napi_status ntpkit_siv_register(napi_env env, napi_value exports);

/* A byte string, for the C calls between the addon's files. */
typedef struct {
  const uint8_t *p;
  size_t n;
} ntpkit_bytes;

/*
 * AES-SIV (aes_siv.c) for the addon's own callers: `strings` are the S2V
 * strings before the plaintext (associated data, then the nonce). Seal writes
 * the SIV and then the ciphertext to `out` (16 + pn octets); open writes the
 * plaintext (sn - 16 octets) and returns 1, 0 for a forgery (nothing of it
 * left in `out`), -1 for a bad key length or an OpenSSL failure. The
 * register step must have run first.
 */
bool ntpkit_siv_seal(const uint8_t *key, size_t key_n, const ntpkit_bytes *strings, size_t n, const uint8_t *p, size_t pn, uint8_t *out);
int ntpkit_siv_open(const uint8_t *key, size_t key_n, const ntpkit_bytes *strings, size_t n, const uint8_t *sealed, size_t sn, uint8_t *out);

/* Adds nts_server.c's ntsServe (the common NTS request, whole, in C) to `exports`. */
napi_status ntpkit_nts_register(napi_env env, napi_value exports);

#endif
