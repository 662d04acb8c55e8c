/*
 * AES-SIV (RFC 5297) in C on the AES of the OpenSSL that Node links
 * (Node exports libcrypto's symbols to addons). NTS spends four AES-SIV
 * operations on every request; built from node:crypto's ECB and CTR in JS
 * (src/crypto/aes-siv.ts) they cost 20 to 80 us each, mostly cipher objects
 * and garbage.
 *
 * OpenSSL 3 has an SIV mode of its own ("AES-128-SIV"), but it does not fit:
 * it looks up its CMAC and CTR implementations again on every key set-up,
 * which made one NTS message cost 12 to 16 us, NTS keys change with every
 * request (each client has its own), and it never finishes a message with
 * an empty plaintext, which every request from chronyd has. So S2V is
 * written here, its CMAC (RFC 4493) on AES-CBC, the encryption on AES-CTR,
 * each one EVP context per thread that is re-keyed per message.
 *
 * sivSeal(key, plaintext, ad[], nonce?) returns SIV || ciphertext;
 * sivOpen(key, sealed, ad[], nonce?) returns the plaintext, or null when it
 * does not authenticate (nothing of a forgery is returned). As in RFC 5116's
 * AEAD use of SIV, the nonce is one more S2V string after the associated
 * data. The src/crypto/aes-siv.ts tests run the RFC 5297 vectors and compare
 * both implementations on random inputs.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ntpkit_native.h"

#define BLOCK 16
/* RFC 5297 limits S2V to 126 strings; the nonce and the plaintext take two. */
#define SIV_MAX_AD 124
/* Scratch for CBC output and the xorend copy; NTS messages are far smaller, larger ones are allocated. */
#define SCRATCH 2048

typedef ntpkit_bytes bytes_t;

/* Index by AES key size: 128, 192, 256 bits. */
static EVP_CIPHER *cbc_ciphers[3];
static EVP_CIPHER *ctr_ciphers[3];

/*
 * One of each per key size and thread (worker_threads share the addon), set
 * up with its cipher once and only re-keyed per message: an init that names
 * the cipher rebuilds the provider's context, several times the cost of AES
 * on an NTS message.
 */
static _Thread_local EVP_CIPHER_CTX *cbc_ctxs[3];
static _Thread_local EVP_CIPHER_CTX *ctr_ctxs[3];
/* The contexts for the current message's key size. */
static _Thread_local EVP_CIPHER_CTX *cbc_ctx;
static _Thread_local EVP_CIPHER_CTX *ctr_ctx;
static _Thread_local uint8_t scratch[SCRATCH];

static const uint8_t ZERO[BLOCK];

static int key_index(size_t n) { return n == 32 ? 0 : n == 48 ? 1 : n == 64 ? 2 : -1; }

static void dbl(uint8_t b[BLOCK]) {
  uint8_t carry = b[0] >> 7;
  for (int i = 0; i < BLOCK - 1; i++) b[i] = (uint8_t)((b[i] << 1) | (b[i + 1] >> 7));
  b[BLOCK - 1] = (uint8_t)((b[BLOCK - 1] << 1) ^ (carry ? 0x87 : 0));
}

/* The MAC key and its CMAC subkeys (RFC 4493 2.3). */
typedef struct {
  uint8_t k1[BLOCK], k2[BLOCK];
} cmac_key;

/* Continues the CBC chain over whole blocks; the last output block is written to `last` (when n > 0). */
static bool cbc_update(const uint8_t *m, size_t n, uint8_t last[BLOCK]) {
  int outl;
  while (n > 0) {
    size_t chunk = n < SCRATCH ? n : SCRATCH;
    if (EVP_EncryptUpdate(cbc_ctx, scratch, &outl, m, (int)chunk) != 1 || (size_t)outl != chunk) return false;
    memcpy(last, scratch + chunk - BLOCK, BLOCK);
    m += chunk;
    n -= chunk;
  }
  return true;
}

static bool cbc_restart(void) { return EVP_EncryptInit_ex2(cbc_ctx, NULL, NULL, ZERO, NULL) == 1; }

/* AES-CMAC (RFC 4493) of m under the key cbc_ctx holds: CBC-MAC with the last block masked by a subkey. */
static bool cmac(const cmac_key *k, const uint8_t *m, size_t n, uint8_t out[BLOCK]) {
  if (!cbc_restart()) return false;
  size_t last = n == 0 ? 0 : (n - 1) / BLOCK * BLOCK;
  uint8_t x[BLOCK];
  if (!cbc_update(m, last, x)) return false;
  size_t rest = n - last;
  const uint8_t *mask = rest == BLOCK ? k->k1 : k->k2;
  uint8_t b[BLOCK];
  for (size_t i = 0; i < BLOCK; i++) b[i] = (uint8_t)((i < rest ? m[last + i] : i == rest ? 0x80 : 0) ^ mask[i]);
  return cbc_update(b, BLOCK, out);
}

/*
 * S2V (RFC 5297 2.4) over `strings` then `last` (the plaintext), under the
 * first half of `key`.
 */
static bool s2v(const bytes_t *key, int ki, const bytes_t *strings, size_t n, const uint8_t *last, size_t last_n, uint8_t v[BLOCK]) {
  (void)ki;
  if (EVP_EncryptInit_ex2(cbc_ctx, NULL, key->p, ZERO, NULL) != 1) return false;
  cmac_key k;
  memset(k.k1, 0, BLOCK);
  /* L = AES(0): one CBC block from a zero IV. */
  if (!cbc_update(ZERO, BLOCK, k.k1)) return false;
  dbl(k.k1);
  memcpy(k.k2, k.k1, BLOCK);
  dbl(k.k2);
  uint8_t d[BLOCK], mac[BLOCK];
  if (!cmac(&k, ZERO, BLOCK, d)) return false;
  for (size_t s = 0; s < n; s++) {
    if (!cmac(&k, strings[s].p, strings[s].n, mac)) return false;
    dbl(d);
    for (int i = 0; i < BLOCK; i++) d[i] ^= mac[i];
  }
  if (last_n < BLOCK) {
    dbl(d);
    for (size_t i = 0; i < BLOCK; i++) d[i] ^= i < last_n ? last[i] : i == last_n ? 0x80 : 0;
    return cmac(&k, d, BLOCK, v);
  }
  /* xorend: D folded into the last 16 bytes of a copy of the plaintext. */
  uint8_t *t = last_n <= SCRATCH ? NULL : malloc(last_n);
  uint8_t local[SCRATCH];
  if (t == NULL) {
    if (last_n > SCRATCH) return false;
    t = local;
  }
  memcpy(t, last, last_n);
  for (int i = 0; i < BLOCK; i++) t[last_n - BLOCK + i] ^= d[i];
  bool ok = cmac(&k, t, last_n, v);
  OPENSSL_cleanse(t, last_n);
  if (t != local) free(t);
  return ok;
}

/* AES-CTR under the second half of `key` from the SIV, with bits 31 and 63 cleared (RFC 5297 2.5). */
static bool ctr(const bytes_t *key, int ki, const uint8_t v[BLOCK], const uint8_t *in, size_t n, uint8_t *out) {
  if (n == 0) return true;
  uint8_t q[BLOCK];
  memcpy(q, v, BLOCK);
  q[8] &= 0x7f;
  q[12] &= 0x7f;
  int outl;
  (void)ki;
  return EVP_EncryptInit_ex2(ctr_ctx, NULL, key->p + key->n / 2, q, NULL) == 1 &&
         EVP_EncryptUpdate(ctr_ctx, out, &outl, in, (int)n) == 1 && (size_t)outl == n;
}

/* Points cbc_ctx and ctr_ctx at this thread's contexts for key size `ki`, creating them once. */
static bool use_contexts(int ki) {
  if (cbc_ctxs[ki] == NULL) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_EncryptInit_ex2(c, cbc_ciphers[ki], NULL, NULL, NULL) != 1 || EVP_CIPHER_CTX_set_padding(c, 0) != 1) {
      EVP_CIPHER_CTX_free(c);
      return false;
    }
    cbc_ctxs[ki] = c;
  }
  if (ctr_ctxs[ki] == NULL) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_EncryptInit_ex2(c, ctr_ciphers[ki], NULL, NULL, NULL) != 1) {
      EVP_CIPHER_CTX_free(c);
      return false;
    }
    ctr_ctxs[ki] = c;
  }
  cbc_ctx = cbc_ctxs[ki];
  ctr_ctx = ctr_ctxs[ki];
  return true;
}

bool ntpkit_siv_seal(const uint8_t *key, size_t key_n, const ntpkit_bytes *strings, size_t n, const uint8_t *p, size_t pn, uint8_t *out) {
  int ki = key_index(key_n);
  bytes_t k = {key, key_n};
  return ki >= 0 && cbc_ciphers[ki] != NULL && use_contexts(ki) && s2v(&k, ki, strings, n, p, pn, out) && ctr(&k, ki, out, p, pn, out + BLOCK);
}

int ntpkit_siv_open(const uint8_t *key, size_t key_n, const ntpkit_bytes *strings, size_t n, const uint8_t *sealed, size_t sn, uint8_t *out) {
  int ki = key_index(key_n);
  bytes_t k = {key, key_n};
  if (ki < 0 || cbc_ciphers[ki] == NULL || sn < BLOCK || !use_contexts(ki)) return -1;
  uint8_t v[BLOCK];
  if (!ctr(&k, ki, sealed, sealed + BLOCK, sn - BLOCK, out) || !s2v(&k, ki, strings, n, out, sn - BLOCK, v)) return -1;
  if (CRYPTO_memcmp(v, sealed, BLOCK) != 0) {
    if (sn > BLOCK) OPENSSL_cleanse(out, sn - BLOCK);
    return 0;
  }
  return 1;
}

static bool get_bytes(napi_env env, napi_value v, bytes_t *out) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type t;
  size_t len;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, &ab, &off) != napi_ok || t != napi_uint8_array) return false;
  out->p = len ? data : ZERO;
  out->n = len;
  return true;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ENTPKIT_SIV", msg);
  return NULL;
}

/* One call's inputs: the key, the S2V strings before the data (associated data, then the nonce), the data. */
typedef struct {
  bytes_t key;
  int ki;
  bytes_t strings[SIV_MAX_AD + 1];
  size_t n;
  bytes_t data;
} siv_args;

static bool get_args(napi_env env, napi_callback_info info, siv_args *a) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return type_error(env, "AES-SIV: expected (key, data, associatedData[, nonce])"), false;
  if (!get_bytes(env, argv[0], &a->key)) return type_error(env, "AES-SIV: the key must be a Uint8Array"), false;
  if ((a->ki = key_index(a->key.n)) < 0) {
    napi_throw_range_error(env, "ENTPKIT_SIV", "AES-SIV needs a 32, 48 or 64-byte key");
    return false;
  }
  if (!get_bytes(env, argv[1], &a->data) || a->data.n > INT32_MAX - BLOCK) return type_error(env, "AES-SIV: the data must be a Uint8Array"), false;
  bool is_array;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array) return type_error(env, "AES-SIV: the associated data must be an array"), false;
  uint32_t n_ad;
  napi_get_array_length(env, argv[2], &n_ad);
  if (n_ad > SIV_MAX_AD) {
    napi_throw_range_error(env, "ENTPKIT_SIV", "AES-SIV takes at most 124 associated data strings");
    return false;
  }
  for (uint32_t i = 0; i < n_ad; i++) {
    napi_value e;
    if (napi_get_element(env, argv[2], i, &e) != napi_ok || !get_bytes(env, e, &a->strings[i])) return type_error(env, "AES-SIV: associated data must be Uint8Arrays"), false;
  }
  a->n = n_ad;
  napi_valuetype nt = napi_undefined;
  if (argc >= 4) napi_typeof(env, argv[3], &nt);
  if (nt != napi_undefined) {
    if (!get_bytes(env, argv[3], &a->strings[a->n])) return type_error(env, "AES-SIV: the nonce must be a Uint8Array or undefined"), false;
    a->n++;
  }
  if (!use_contexts(a->ki)) {
    napi_throw_error(env, "ENTPKIT_SIV", "AES-SIV: setting up OpenSSL's AES-CBC/CTR failed");
    return false;
  }
  return true;
}

static napi_value siv_seal(napi_env env, napi_callback_info info) {
  siv_args a;
  if (!get_args(env, info, &a)) return NULL;
  napi_value out;
  void *buf;
  if (napi_create_buffer(env, BLOCK + a.data.n, &buf, &out) != napi_ok) return NULL;
  uint8_t *o = buf;
  if (!s2v(&a.key, a.ki, a.strings, a.n, a.data.p, a.data.n, o) || !ctr(&a.key, a.ki, o, a.data.p, a.data.n, o + BLOCK)) {
    napi_throw_error(env, "ENTPKIT_SIV", "AES-SIV: an OpenSSL AES call failed");
    return NULL;
  }
  return out;
}

static napi_value siv_open(napi_env env, napi_callback_info info) {
  siv_args a;
  if (!get_args(env, info, &a)) return NULL;
  napi_value nul;
  napi_get_null(env, &nul);
  if (a.data.n < BLOCK) return nul;
  const uint8_t *tag = a.data.p;
  size_t n = a.data.n - BLOCK;
  napi_value out;
  void *buf;
  if (napi_create_buffer(env, n, &buf, &out) != napi_ok) return NULL;
  uint8_t v[BLOCK];
  if (!ctr(&a.key, a.ki, tag, a.data.p + BLOCK, n, buf) || !s2v(&a.key, a.ki, a.strings, a.n, buf, n, v)) {
    napi_throw_error(env, "ENTPKIT_SIV", "AES-SIV: an OpenSSL AES call failed");
    return NULL;
  }
  /* Constant time, so that a forger learns nothing from how long a reject takes. */
  if (CRYPTO_memcmp(v, tag, BLOCK) != 0) {
    if (n) OPENSSL_cleanse(buf, n);
    return nul;
  }
  return out;
}

napi_status ntpkit_siv_register(napi_env env, napi_value exports) {
  static const char *cbc[3] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
  static const char *ctr_names[3] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"};
  for (int i = 0; i < 3; i++) {
    if (cbc_ciphers[i] == NULL) cbc_ciphers[i] = EVP_CIPHER_fetch(NULL, cbc[i], NULL);
    if (ctr_ciphers[i] == NULL) ctr_ciphers[i] = EVP_CIPHER_fetch(NULL, ctr_names[i], NULL);
    /* Without them (an OpenSSL built without AES?) the JS side keeps its own AES-SIV. */
    if (cbc_ciphers[i] == NULL || ctr_ciphers[i] == NULL) return napi_ok;
  }
  napi_value f;
  napi_status s;
  if ((s = napi_create_function(env, "sivSeal", NAPI_AUTO_LENGTH, siv_seal, NULL, &f)) != napi_ok) return s;
  if ((s = napi_set_named_property(env, exports, "sivSeal", f)) != napi_ok) return s;
  if ((s = napi_create_function(env, "sivOpen", NAPI_AUTO_LENGTH, siv_open, NULL, &f)) != napi_ok) return s;
  if ((s = napi_set_named_property(env, exports, "sivOpen", f)) != napi_ok) return s;
  return ntpkit_nts_register(env, exports);
}
