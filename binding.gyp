# The optional N-API addon: kernel clock readings (native/ntpkit_native.c), a
# UDP socket with kernel RX/TX timestamps (native/udp_socket.c), PTP hardware
# clock readings (native/phc.c), process calls (native/process.c) and the NTP
# SHM refclock segment (native/shm_segment.c), and the Unix datagram socket
# of chronyc's command protocol (native/unix_dgram.c), and AES-SIV through
# the OpenSSL Node links (native/aes_siv.c) with the common NTS request
# answered whole (native/nts_server.c).
# Built by scripts/build-native.sh during `npm ci`; loaded by src/clock/native.ts.
{
  "targets": [
    {
      "target_name": "ntpkit_native",
      "sources": ["native/ntpkit_native.c", "native/udp_socket.c", "native/clock_adjtime.c", "native/phc.c", "native/process.c", "native/shm_segment.c", "native/unix_dgram.c", "native/aes_siv.c", "native/nts_server.c"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]
    }
  ]
}
