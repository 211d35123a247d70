/*
 * LD_PRELOAD library for user-mode Linux 6.1 (Debian's /usr/bin/linux.uml) on hosts whose XSAVE
 * area differs in size from UML's compile-time buffer.
 *
 * UML keeps each guest thread's FPU/vector state in a fixed buffer of 2696 bytes (x87/SSE, AVX,
 * AVX-512 opmask and ZMM state, PKRU) and moves it with PTRACE_GETREGSET/PTRACE_SETREGSET of
 * NT_X86_XSTATE. A GETREGSET with a short buffer succeeds (the kernel truncates), but the host
 * kernel refuses every SETREGSET whose size is not exactly its whole standard-format XSAVE area
 * (arch/x86/kernel/fpu/regset.c, xstateregs_set: `count != fpu_user_cfg.max_size` gives
 * EFAULT). With AMX that area is 11008 bytes, so every SETREGSET fails and the first guest
 * process dies.
 *
 * Hiding the regset instead (so that UML falls back to PTRACE_GETFPREGS/SETFPREGS) boots, but
 * then UML saves and restores only the 512-byte FXSAVE part: the upper halves of the YMM
 * registers, the ZMM and opmask registers are reset whenever UML handles a guest page fault
 * (its fault stub runs as a host signal handler, which starts with cleared vector state, and
 * UML then restores only what it saved) and they leak between threads of one guest process.
 * glibc's AVX2/EVEX string functions then return wrong results: printf prints its format
 * unexpanded, Node aborts with "Invalid bytecode" and python3 cannot start.
 *
 * So this library passes UML's SETREGSET on in a buffer of the host's size: UML's bytes, then
 * zeros, with every state component that UML's bytes do not hold wholly marked as being in its
 * initial state (its bit cleared in the XSAVE header's xstate_bv). On an AMX host those are the
 * two AMX tile components, which a guest process cannot be using: that needs
 * arch_prctl(ARCH_REQ_XCOMP_PERM) permission from the host kernel, and a guest's arch_prctl goes
 * to UML, which does not grant it. Every other ptrace call goes to the real ptrace unchanged.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* The XSAVE header (xstate_bv, xcomp_bv, reserved) follows the 512-byte legacy area. */
#define XSAVE_HEADER_OFFSET 512
#define XSAVE_HEADER_SIZE 64
/* Larger than any XSAVE area so far (AMX: 11008 bytes); a multiple of 8, as the regset needs. */
#define PROBE_SIZE 65536

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

static ptrace_fn real_ptrace(void) {
  static ptrace_fn real;
  if (real == NULL) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  return real;
}

/*
 * The host's XSAVE regset size, learnt from the first stopped tracee: the kernel shortens a
 * GETREGSET's iov_len to the regset's size, which is the size SETREGSET insists on.
 */
static size_t host_xstate_size(pid_t pid) {
  static size_t size;
  if (size != 0) return size;
  void *buf = malloc(PROBE_SIZE);
  if (buf == NULL) return 0;
  struct iovec iov = {buf, PROBE_SIZE};
  if (real_ptrace()(PTRACE_GETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &iov) == 0) size = iov.iov_len;
  free(buf);
  return size;
}

/*
 * The xstate_bv bits of user state components that do not lie wholly within the first `len`
 * bytes. CPUID is slow in a virtual machine (each one exits to the hypervisor: ~7 us here, which
 * made every guest system call ~0.5 ms slower), so the answer for the last length is kept; UML
 * always passes the same one.
 */
static uint64_t components_beyond(size_t len) {
  static size_t known_len;
  static uint64_t known_mask;
  if (len == known_len) return known_mask;
  uint64_t mask = 0;
  for (unsigned i = 2; i < 63; i++) {
    unsigned size, offset, ecx, edx;
    __cpuid_count(0xd, i, size, offset, ecx, edx);
    /* Supervisor components (ecx bit 0) never appear in the user regset. */
    if (size == 0 || (ecx & 1) != 0) continue;
    if ((uint64_t)offset + size > len) mask |= (uint64_t)1 << i;
  }
  known_len = len;
  known_mask = mask;
  return mask;
}

/* Returns 1 when the call needs no resizing; otherwise the real ptrace's result. */
static long set_resized_xstate(pid_t pid, const struct iovec *iov) {
  static unsigned char *whole;
  size_t host = host_xstate_size(pid);
  if (host == 0 || iov->iov_len == host || iov->iov_len < XSAVE_HEADER_OFFSET + XSAVE_HEADER_SIZE) return 1;
  if (whole == NULL) whole = malloc(host);
  if (whole == NULL) return 1;
  size_t kept = iov->iov_len < host ? iov->iov_len : host;
  memcpy(whole, iov->iov_base, kept);
  memset(whole + kept, 0, host - kept);
  uint64_t xstate_bv;
  memcpy(&xstate_bv, whole + XSAVE_HEADER_OFFSET, sizeof xstate_bv);
  xstate_bv &= ~components_beyond(kept);
  memcpy(whole + XSAVE_HEADER_OFFSET, &xstate_bv, sizeof xstate_bv);
  struct iovec resized = {whole, host};
  return real_ptrace()(PTRACE_SETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &resized);
}

long ptrace(enum __ptrace_request request, ...) {
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if (request == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE && data != NULL) {
    long r = set_resized_xstate(pid, data);
    if (r != 1) return r;
  }
  return real_ptrace()(request, pid, addr, data);
}
