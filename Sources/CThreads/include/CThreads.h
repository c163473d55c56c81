#ifndef CTHREADS_H
#define CTHREADS_H

/// Names the calling thread (at most 15 bytes are kept): pthread_setname_np needs _GNU_SOURCE,
/// which Swift's Glibc module is not built with.
int CThreads_setCurrentThreadName(const char *name);

#endif
