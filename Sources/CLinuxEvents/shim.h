/* The Linux event APIs the HTTP event loops use, which Swift's Glibc module does not import. */
#ifndef CLINUXEVENTS_SHIM_H
#define CLINUXEVENTS_SHIM_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/* accept4 is a GNU extension: declared only under _GNU_SOURCE, which the Glibc module lacks. */
extern int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);

static inline uint32_t CLinuxEvents_in(void) { return EPOLLIN; }
static inline uint32_t CLinuxEvents_out(void) { return EPOLLOUT; }
static inline uint32_t CLinuxEvents_edgeTriggered(void) { return EPOLLET; }
static inline uint32_t CLinuxEvents_exclusive(void) { return EPOLLEXCLUSIVE; }
static inline uint32_t CLinuxEvents_hangUp(void) { return EPOLLHUP | EPOLLERR; }
static inline uint32_t CLinuxEvents_readHangUp(void) { return EPOLLRDHUP; }
static inline int CLinuxEvents_nonBlockingCloseOnExec(void) { return SOCK_NONBLOCK | SOCK_CLOEXEC; }

#endif
