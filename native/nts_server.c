/*
 * The common NTS request (RFC 8915 section 5.7), answered whole in C: one
 * call from JS in place of four AES-SIV calls, the field parsing and the
 * reply building, which together cost more than the AES itself.
 *
 * ntsServe(request, header, keyTable) takes a request that carries extension
 * fields, the 48-octet reply header the responder built, and the cookie
 * master keys (keyTable: 36 octets per key, its 32-bit id then the 32-octet
 * AES-SIV-CMAC-256 key, the current key last). It returns the octets to put
 * after the header (the echoed Unique Identifier and the Authenticator with
 * fresh cookies), or null: then the JS path (src/crypto/nts-server.ts)
 * handles the request, so every rejection, NAK and count stays there. null
 * is returned for anything but the plain shape of a well-formed request:
 * exactly one Unique Identifier, one AES-SIV-CMAC-256 cookie that opens,
 * any placeholders, the Authenticator last and verifying with nothing
 * encrypted in it (what chronyd and ntpkit clients send), no other fields.
 * The reply is byte for byte what the JS path builds from the same random
 * octets.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ntpkit_native.h"

#define HEADER 48
#define TAG 16
#define NONCE 16
#define MASTER_KEY 32
#define KEY_ENTRY (4 + MASTER_KEY)
#define MAX_KEYS 8
/* A cookie: key id, nonce, SIV, then AEAD id (2), zero (2) and two 32-octet keys. */
#define COOKIE_PLAIN (4 + 2 * 32)
#define COOKIE (4 + NONCE + TAG + COOKIE_PLAIN)
#define AEAD_AES_SIV_CMAC_256 15
#define MAX_REPLY_COOKIES 8
#define MIN_UNIQUE_ID 32

#define T_UNIQUE_ID 0x0104
#define T_COOKIE 0x0204
#define T_PLACEHOLDER 0x0304
#define T_AUTHENTICATOR 0x0404

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

static bool get_u8(napi_env env, napi_value v, const uint8_t **p, size_t *n) {
  bool is;
  napi_typedarray_type t;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  if (napi_get_typedarray_info(env, v, &t, n, &data, &ab, &off) != napi_ok || t != napi_uint8_array) return false;
  *p = data;
  return true;
}

static napi_value nts_serve(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], nul;
  napi_get_null(env, &nul);
  const uint8_t *req, *hdr, *table;
  size_t req_n, hdr_n, table_n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !get_u8(env, argv[0], &req, &req_n) ||
      !get_u8(env, argv[1], &hdr, &hdr_n) || !get_u8(env, argv[2], &table, &table_n) || hdr_n < HEADER || table_n == 0 ||
      table_n % KEY_ENTRY != 0 || table_n > MAX_KEYS * KEY_ENTRY) {
    napi_throw_type_error(env, "ENTPKIT_NTS", "ntsServe(request, header, keyTable): Uint8Arrays, a 48-octet header, 36 octets a key");
    return NULL;
  }

  /* The fields, as parseNtsPacketFields reads them; anything it would reject or that the JS path treats apart goes back. */
  const uint8_t *uid = NULL, *cookie = NULL, *auth = NULL;
  size_t uid_n = 0, cookie_n = 0, auth_n = 0, auth_off = 0, placeholders_same = 0;
  size_t placeholder_lens[64];
  size_t n_placeholders = 0;
  for (size_t pos = HEADER; pos < req_n;) {
    if (auth != NULL || pos + 4 > req_n) return nul;
    unsigned type = be16(req + pos), len = be16(req + pos + 2);
    if (len % 4 != 0 || len < 16 || pos + len > req_n) return nul;
    const uint8_t *body = req + pos + 4;
    size_t body_n = len - 4;
    switch (type) {
      case T_UNIQUE_ID:
        if (uid != NULL || body_n < MIN_UNIQUE_ID) return nul;
        uid = body;
        uid_n = body_n;
        break;
      case T_COOKIE:
        if (cookie != NULL) return nul;
        cookie = body;
        cookie_n = body_n;
        break;
      case T_PLACEHOLDER:
        if (n_placeholders == sizeof placeholder_lens / sizeof placeholder_lens[0]) return nul;
        placeholder_lens[n_placeholders++] = body_n;
        break;
      case T_AUTHENTICATOR:
        auth = body;
        auth_n = body_n;
        auth_off = pos;
        break;
      default:
        return nul;
    }
    pos += len;
  }
  if (uid == NULL || cookie == NULL || auth == NULL || cookie_n != COOKIE || auth_n < 4) return nul;
  size_t nonce_n = be16(auth), ct_n = be16(auth + 2);
  size_t nonce_room = pad4(nonce_n) > NONCE ? pad4(nonce_n) : NONCE;
  if (4 + nonce_room + pad4(ct_n) > auth_n || ct_n != TAG) return nul;
  for (size_t i = 0; i < n_placeholders; i++) placeholders_same += placeholder_lens[i] == cookie_n;

  /* The cookie, under the master key its id names. */
  const uint8_t *mk = NULL;
  for (size_t off = 0; off < table_n; off += KEY_ENTRY) {
    if (memcmp(table + off, cookie, 4) == 0) mk = table + off + 4;
  }
  if (mk == NULL) return nul;
  uint8_t plain[COOKIE_PLAIN];
  ntpkit_bytes cookie_nonce = {cookie + 4, NONCE};
  if (ntpkit_siv_open(mk, MASTER_KEY, &cookie_nonce, 1, cookie + 4 + NONCE, TAG + COOKIE_PLAIN, plain) != 1) return nul;
  bool keys_ok = be16(plain) == AEAD_AES_SIV_CMAC_256 && plain[2] == 0 && plain[3] == 0;
  uint8_t c2s[32], s2c[32];
  memcpy(c2s, plain + 4, 32);
  memcpy(s2c, plain + 36, 32);
  OPENSSL_cleanse(plain, sizeof plain);
  napi_value out = nul;
  if (!keys_ok) goto done;

  /* The request's Authenticator under C2S: associated data the packet up to it, then its nonce. */
  ntpkit_bytes req_strings[2] = {{req, auth_off}, {auth + 4, nonce_n}};
  if (ntpkit_siv_open(c2s, 32, req_strings, 2, auth + 4 + pad4(nonce_n), ct_n, NULL) != 1) goto done;

  /* One cookie for the one spent, one per placeholder of its size, as many as the request's size allows. */
  size_t count = 1 + placeholders_same;
  if (count > MAX_REPLY_COOKIES) count = MAX_REPLY_COOKIES;
  const size_t cookie_field = 4 + COOKIE;
  size_t uid_field = 4 + uid_n;
#define REPLY_SIZE(c) (HEADER + uid_field + 4 + 4 + NONCE + pad4(TAG + (c) * cookie_field))
  while (count > 0 && REPLY_SIZE(count) > req_n) count--;
  if (count == 0) goto done;
  size_t inside_n = count * cookie_field;
  size_t ct_len = TAG + inside_n;
  size_t auth_field = 4 + 4 + NONCE + pad4(ct_len);
  size_t out_n = uid_field + auth_field;

  uint8_t inside[MAX_REPLY_COOKIES * (4 + COOKIE)];
  uint8_t rnd[NONCE * (MAX_REPLY_COOKIES + 1)];
  if (RAND_bytes(rnd, (int)(NONCE * (count + 1))) != 1) goto done;
  const uint8_t *cur = table + table_n - KEY_ENTRY;
  uint8_t cplain[COOKIE_PLAIN];
  put16(cplain, AEAD_AES_SIV_CMAC_256);
  cplain[2] = cplain[3] = 0;
  memcpy(cplain + 4, c2s, 32);
  memcpy(cplain + 36, s2c, 32);
  bool sealed = true;
  for (size_t i = 0; i < count && sealed; i++) {
    uint8_t *f = inside + i * cookie_field;
    put16(f, T_COOKIE);
    put16(f + 2, (unsigned)cookie_field);
    memcpy(f + 4, cur, 4);
    memcpy(f + 8, rnd + NONCE * (i + 1), NONCE);
    ntpkit_bytes cn = {f + 8, NONCE};
    sealed = ntpkit_siv_seal(cur + 4, MASTER_KEY, &cn, 1, cplain, COOKIE_PLAIN, f + 8 + NONCE);
  }
  OPENSSL_cleanse(cplain, sizeof cplain);
  if (!sealed) goto done;

  void *buf;
  if (napi_create_buffer(env, out_n, &buf, &out) != napi_ok) {
    out = NULL;
    goto done;
  }
  uint8_t *o = buf;
  memset(o, 0, out_n);
  put16(o, T_UNIQUE_ID);
  put16(o + 2, (unsigned)uid_field);
  memcpy(o + 4, uid, uid_n);
  uint8_t *a = o + uid_field;
  put16(a, T_AUTHENTICATOR);
  put16(a + 2, (unsigned)auth_field);
  put16(a + 4, NONCE);
  put16(a + 6, (unsigned)ct_len);
  memcpy(a + 8, rnd, NONCE);
  /* Associated data: the reply header and the echoed Unique Identifier; then the nonce. */
  uint8_t ad[HEADER + 4 + 1024];
  if (HEADER + uid_field > sizeof ad) {
    out = nul;
    goto done;
  }
  memcpy(ad, hdr, HEADER);
  memcpy(ad + HEADER, o, uid_field);
  ntpkit_bytes reply_strings[2] = {{ad, HEADER + uid_field}, {rnd, NONCE}};
  if (!ntpkit_siv_seal(s2c, 32, reply_strings, 2, inside, inside_n, a + 8 + NONCE)) out = nul;

done:
  OPENSSL_cleanse(c2s, sizeof c2s);
  OPENSSL_cleanse(s2c, sizeof s2c);
  return out;
}

napi_status ntpkit_nts_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_status s = napi_create_function(env, "ntsServe", NAPI_AUTO_LENGTH, nts_serve, NULL, &f);
  return s != napi_ok ? s : napi_set_named_property(env, exports, "ntsServe", f);
}
