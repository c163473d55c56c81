#include "CMicroHTTPDShim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#if MHD_VERSION < 0x00097100
#error "registryd needs libmicrohttpd 0.9.71 or newer (enum MHD_Result)"
#endif

struct MHD_Daemon *CMicroHTTPDShim_start(const CMicroHTTPDShim_Options *options,
                                         MHD_AccessHandlerCallback handler,
                                         void *handler_context,
                                         MHD_RequestCompletedCallback completed,
                                         void *completed_context) {
    unsigned int flags = options->flags;
    struct sockaddr_in address4;
    struct sockaddr_in6 address6;
    const struct sockaddr *bind_address = NULL;

    if (options->bind_host != NULL && options->bind_host[0] != '\0') {
        memset(&address4, 0, sizeof(address4));
        memset(&address6, 0, sizeof(address6));
        if (inet_pton(AF_INET, options->bind_host, &address4.sin_addr) == 1) {
            address4.sin_family = AF_INET;
            address4.sin_port = htons(options->port);
            bind_address = (const struct sockaddr *)&address4;
        } else if (inet_pton(AF_INET6, options->bind_host, &address6.sin6_addr) == 1) {
            address6.sin6_family = AF_INET6;
            address6.sin6_port = htons(options->port);
            bind_address = (const struct sockaddr *)&address6;
            flags |= MHD_USE_IPv6;
        } else {
            errno = EINVAL;
            return NULL;
        }
    }

    struct MHD_OptionItem items[12];
    size_t count = 0;
    items[count++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, completed_context};
    if (bind_address != NULL)
        items[count++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)bind_address};
    if (options->connection_limit > 0)
        items[count++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)options->connection_limit, NULL};
    if (options->connection_timeout_seconds > 0)
        items[count++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)options->connection_timeout_seconds, NULL};
    if (options->connection_memory_limit > 0)
        items[count++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)options->connection_memory_limit, NULL};
    if (options->thread_pool_size > 0)
        items[count++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)options->thread_pool_size, NULL};
    if (options->thread_stack_size > 0)
        items[count++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_STACK_SIZE, (intptr_t)options->thread_stack_size, NULL};
    if (options->listen_backlog > 0)
        items[count++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, (intptr_t)options->listen_backlog, NULL};
    items[count++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
    items[count++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    return MHD_start_daemon(flags, options->port, NULL, NULL, handler, handler_context,
                            MHD_OPTION_ARRAY, items, MHD_OPTION_END);
}

uint16_t CMicroHTTPDShim_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

unsigned int CMicroHTTPDShim_current_connections(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info == NULL ? 0 : info->num_connections;
}

const char *CMicroHTTPDShim_version(void) {
    return MHD_get_version();
}
