#ifndef CCURLSHIM_H
#define CCURLSHIM_H

#include <curl/curl.h>

/// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one
/// non-variadic wrapper per argument type, nothing more.
CURLcode CCurlShim_setLong(CURL *handle, CURLoption option, long value);
CURLcode CCurlShim_setString(CURL *handle, CURLoption option, const char *value);
CURLcode CCurlShim_setPointer(CURL *handle, CURLoption option, void *value);
CURLcode CCurlShim_setWriteFunction(CURL *handle, CURLoption option,
                                    size_t (*function)(char *, size_t, size_t, void *));
CURLcode CCurlShim_getLong(CURL *handle, CURLINFO info, long *value);

#endif
