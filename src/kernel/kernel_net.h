/* kernel_net.h - the five ZeroMQ sockets of a Jupyter kernel (shell, iopub, stdin, control,
 * heartbeat), the threads that serve heartbeat, control and output, and the capture of the
 * process's stdout and stderr as stream messages. */
#ifndef LUNETTE_KERNEL_NET_H
#define LUNETTE_KERNEL_NET_H
#include "kernel/kernel_msg.h"

typedef struct Kernel Kernel;

/* Reads the connection file at `path` (transport, ip, the five ports, key, signature_scheme),
 * binds the sockets, redirects file descriptors 1 and 2 into pipes read by the output thread
 * (which sends what is written as "stream" messages on iopub) and 0 from /dev/null, and starts
 * the heartbeat, control and output threads. The calling thread becomes the shell thread: an
 * interrupt_request on control sends it SIGINT, as a SIGINT from the notebook server does.
 * On success *out is the kernel (it lives until kernel_exit); on failure err (errlen bytes)
 * says why and a KERNEL_* code is returned, with nothing redirected. */
int kernel_open(const char *path, Kernel **out, char *err, size_t errlen);

/* Blocks until the next well-formed, correctly signed request on shell and parses it into
 * *msg (the caller frees it with kernel_msg_free). Malformed or badly signed messages are
 * logged and dropped, as the protocol says. Returns KERNEL_OK, or KERNEL_ESYS when the socket
 * failed for good. */
int kernel_recv(Kernel *k, KernelMsg *msg);

/* Asks the frontend that sent req for a line of input (input_request on stdin, with `prompt`
 * and `password`) and waits for its input_reply. On KERNEL_OK *value is the text (the caller
 * frees it). KERNEL_EINTERRUPTED when SIGINT came first (interrupt.h's flag is then set),
 * KERNEL_ESYS when the socket failed. */
int kernel_input(Kernel *k, const KernelMsg *req, const char *prompt, int password, char **value);

/* 1 when a message waits on shell (kernel_recv would not block), else 0. */
int kernel_pending(Kernel *k);

/* Sends a reply of type msg_type with `content` on shell to the sender of req. Returns a
 * KERNEL_* code; nothing passed in is taken over. */
int kernel_reply(Kernel *k, const KernelMsg *req, const char *msg_type,
                 const struct cJSON *content);

/* Publishes a message on iopub (through the output thread, so it comes after any output
 * already written to stdout or stderr), child of `parent` (NULL for none), with `metadata` and
 * `content` (NULL for {}). Returns a KERNEL_* code; nothing passed in is taken over. */
int kernel_publish(Kernel *k, const KernelMsg *parent, const char *msg_type,
                   const struct cJSON *metadata, const struct cJSON *content);

/* Output written from now on becomes stream messages whose parent is `parent`'s header
 * (NULL: none). Flushes C's stdout and stderr first, so earlier output keeps its parent. */
void kernel_set_parent(Kernel *k, const KernelMsg *parent);

/* Keeps a copy of `content` as the kernel_info_reply the control thread sends (clients ask
 * there too, to check the kernel is alive while the shell is busy). Call before serving. */
void kernel_set_info(Kernel *k, const struct cJSON *content);

/* Flushes C's stdout and stderr into the pipes: what was written so far is sent before the
 * next kernel_publish. */
void kernel_flush(Kernel *k);

/* Logs one line to the terminal the kernel was started from (the real stderr, not the
 * notebook). printf-like. */
void kernel_log(Kernel *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends the output still buffered, gives ZeroMQ a moment to deliver it, removes temporaries
 * of unfinished writes (io/atomic.h) and ends the process with `status`. Callable from the
 * shell and the control thread. */
_Noreturn void kernel_exit(Kernel *k, int status);

#endif
