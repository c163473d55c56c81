#ifndef CMICROHTTPDSHIM_H
#define CMICROHTTPDSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <microhttpd.h>

/*
 * Non-variadic entry points to libmicrohttpd for Swift, which cannot call C variadic functions.
 * Every symbol carries the CMicroHTTPDShim_ prefix.
 */

/** How the daemon runs; mirrors the MHD options the service uses. Zero means "libmicrohttpd's default". */
typedef struct CMicroHTTPDShim_Options {
    /** MHD_USE_* flags. MHD_USE_IPv6 is added when bind_host is an IPv6 literal. */
    unsigned int flags;
    /** TCP port; 0 asks the kernel for a free one (read it back with CMicroHTTPDShim_bound_port). */
    uint16_t port;
    /** Numeric IPv4 or IPv6 address to bind; NULL or "" binds every address. */
    const char *bind_host;
    unsigned int connection_limit;
    unsigned int connection_timeout_seconds;
    size_t connection_memory_limit;
    /** Worker threads in thread-pool mode; ignored (must be 0) with MHD_USE_THREAD_PER_CONNECTION. */
    unsigned int thread_pool_size;
    size_t thread_stack_size;
    unsigned int listen_backlog;
} CMicroHTTPDShim_Options;

/** Starts a daemon; NULL on failure (bad address, port in use, bad option combination), with errno set when known. */
struct MHD_Daemon *CMicroHTTPDShim_start(const CMicroHTTPDShim_Options *options,
                                         MHD_AccessHandlerCallback handler,
                                         void *handler_context,
                                         MHD_RequestCompletedCallback completed,
                                         void *completed_context);

/** The port the daemon listens on, or 0 when unknown. */
uint16_t CMicroHTTPDShim_bound_port(struct MHD_Daemon *daemon);

/** Connections currently open on the daemon. */
unsigned int CMicroHTTPDShim_current_connections(struct MHD_Daemon *daemon);

/** The runtime library's version string (for build info and logs). */
const char *CMicroHTTPDShim_version(void);

#endif
