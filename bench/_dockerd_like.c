/*
 * A dockerd-like fake engine for bench/event_flood.ts, cheap per event so that
 * the clients, not the fake, set the pace. Built with gcc at bench time.
 *
 *   _dockerd_like serve SOCKET EVENTS WATCHED_EVERY RATE TIMES_FILE
 *   _dockerd_like sink SOCKET LINES
 *
 * serve: listens on the unix socket SOCKET. An events request (without
 * `until`) gets EVENTS container events as dockerd 20.10 writes them: one
 * HTTP chunk holding one JSON line, and one send of its own, per event. A
 * paced stream write()s each event when it is due; a flood hands the kernel
 * 32 such sends at a time with sendmmsg(2), which spares the fake's system
 * calls while the client still gets one socket buffer, one chunk, per event. Every WATCHED_EVERY-th event, and the last, is the watched
 * container's (1: all of them). RATE 0 writes as fast as the socket takes
 * them (a flood); RATE > 0 paces the events at RATE per second on an
 * absolute schedule. Each line's timeNano is the wall clock when it is
 * written (strictly increasing). After the last event the stream stays open
 * until the client leaves, as dockerd's does. The write times of the watched
 * events go to TIMES_FILE (int64 nanoseconds, little-endian) and a line
 * {"done":true,...} goes to stdout.
 * Other routes: GET|HEAD /_ping, GET /info (SystemTime), GET /version,
 * GET /containers/{ref}/json (the watched container, running), and
 * /events?...&until=... (an empty replay: this fake keeps no history).
 * Prints {"ready":true,"watchedId":...} once it listens.
 *
 * sink: connects to SOCKET, asks for the events and reads until LINES event
 * lines arrived, parsing nothing: the fake's own ceiling. Prints
 * {"seconds":...,"lines":...}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONTAINERS 50
#define LINE_MAX_BYTES 2048
#define SINK_PAUSE_US 100
#define BATCH 32
#define SEND_BUFFER (8 << 20)

static long long g_events, g_every, g_rate;
static const char *g_times_file;
static char g_ids[CONTAINERS][65];
static char g_hashes[CONTAINERS][65];
static char *g_prefix[CONTAINERS][6];
static size_t g_prefix_len[CONTAINERS][6];
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;

static const char *ACTIONS[6] = {"kill", "die", "stop", "start", "pause", "unpause"};
static const char *IMAGES[4] = {"nginx:1.25-alpine", "postgres:16", "redis:7-alpine",
                                "ghcr.io/acme/api:2.4.1"};
static const char *SERVICES[5] = {"web", "db", "cache", "api", "worker"};
static const char *PROJECTS[7] = {"shop", "blog", "crm", "wiki", "mail", "git", "chat"};

static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void hex_id(char *out, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
  for (int i = 0; i < 64; i++) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 29;
    out[i] = "0123456789abcdef"[x & 15];
  }
  out[64] = 0;
}

static void name_of(char *out, size_t size, int c) {
  if (c == 0) snprintf(out, size, "shop-web-1");
  else snprintf(out, size, "%s-%s-%d", PROJECTS[c % 7], SERVICES[c % 5], 1 + c / 35);
}

/* A line up to `"time":`, with the attributes dockerd 20.10 sends for a Compose service
   (sorted by key, as Go's encoder writes a map). */
static void make_prefixes(void) {
  for (int c = 0; c < CONTAINERS; c++) {
    hex_id(g_ids[c], 2 * c + 1);
    hex_id(g_hashes[c], 2 * c + 2);
  }
  for (int c = 0; c < CONTAINERS; c++) {
    char name[64];
    name_of(name, sizeof name, c);
    const char *project = c == 0 ? "shop" : PROJECTS[c % 7];
    const char *service = c == 0 ? "web" : SERVICES[c % 5];
    const char *image = c == 0 ? IMAGES[0] : IMAGES[c % 4];
    for (int a = 0; a < 6; a++) {
      char extra[64] = "";
      if (strcmp(ACTIONS[a], "die") == 0) snprintf(extra, sizeof extra, "\"exitCode\":\"0\",");
      char *line = malloc(LINE_MAX_BYTES);
      int n = snprintf(
          line, LINE_MAX_BYTES,
          "{\"status\":\"%s\",\"id\":\"%s\",\"from\":\"%s\",\"Type\":\"container\","
          "\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\",\"Attributes\":{"
          "\"com.docker.compose.config-hash\":\"%s\","
          "\"com.docker.compose.container-number\":\"1\","
          "\"com.docker.compose.project\":\"%s\","
          "\"com.docker.compose.service\":\"%s\","
          "\"com.docker.compose.version\":\"2.24.5\","
          "%s\"image\":\"%s\",\"name\":\"%s\"}},\"scope\":\"local\",\"time\":",
          ACTIONS[a], g_ids[c], image, ACTIONS[a], g_ids[c], g_hashes[c], project, service, extra, image, name);
      g_prefix[c][a] = line;
      g_prefix_len[c][a] = (size_t)n;
    }
  }
}

static int write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

static void http_date(char *out, size_t size) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int respond(int fd, const char *status, const char *type, const char *body, int head) {
  char date[64], header[512];
  http_date(date, sizeof date);
  size_t length = body ? strlen(body) : 0;
  int n = snprintf(header, sizeof header,
                   "HTTP/1.1 %s\r\nApi-Version: 1.41\r\nContent-Type: %s\r\n"
                   "Docker-Experimental: false\r\nOstype: linux\r\n"
                   "Server: Docker/20.10.24 (linux)\r\nDate: %s\r\nContent-Length: %zu\r\n\r\n",
                   status, type, date, length);
  if (write_all(fd, header, (size_t)n) < 0) return -1;
  return head || length == 0 ? 0 : write_all(fd, body, length);
}

static char *write_digits(char *out, unsigned long long value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (n > 0) *out++ = digits[--n];
  return out;
}

/* One event as one HTTP chunk: size line, the JSON line with its newline, CRLF. */
static size_t frame_event(char *frame, const char *prefix, size_t prefix_len, long long t) {
  char tail[64], *end = write_digits(tail, (unsigned long long)(t / 1000000000LL));
  memcpy(end, ",\"timeNano\":", 12);
  end = write_digits(end + 12, (unsigned long long)t);
  *end++ = '}';
  *end++ = '\n';
  size_t tail_len = (size_t)(end - tail), body = prefix_len + tail_len;
  int h = 0;
  for (int shift = 12; shift >= 0; shift -= 4) {
    unsigned digit = (unsigned)(body >> shift) & 15;
    if (digit || h || shift == 0) frame[h++] = "0123456789abcdef"[digit];
  }
  frame[h++] = '\r';
  frame[h++] = '\n';
  memcpy(frame + h, prefix, prefix_len);
  memcpy(frame + h + prefix_len, tail, tail_len);
  memcpy(frame + h + body, "\r\n", 2);
  return (size_t)h + body + 2;
}

/* Sends each message as a send of its own; sendmmsg for several. */
static int send_all(int fd, struct mmsghdr *messages, struct iovec *vectors, int count) {
  if (count == 1) return write_all(fd, vectors[0].iov_base, vectors[0].iov_len);
  int done = 0;
  while (done < count) {
    int n = sendmmsg(fd, messages + done, (unsigned)(count - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    /* A send cut short by a signal: the rest of that message, then the next ones. */
    size_t sent = messages[done + n - 1].msg_len, want = vectors[done + n - 1].iov_len;
    if (n > 0 && sent < want &&
        write_all(fd, (char *)vectors[done + n - 1].iov_base + sent, want - sent) < 0) {
      return -1;
    }
    done += n;
  }
  return 0;
}

/* The event stream: one chunk, and one send, per event. */
static void stream_events(int fd) {
  char date[64], header[512];
  http_date(date, sizeof date);
  int n = snprintf(header, sizeof header,
                   "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                   "Docker-Experimental: false\r\nOstype: linux\r\n"
                   "Server: Docker/20.10.24 (linux)\r\nDate: %s\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n",
                   date);
  if (write_all(fd, header, (size_t)n) < 0) return;
  /* A deep socket buffer: the writer seldom blocks, so it seldom sleeps and wakes. */
  int size = SEND_BUFFER;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  long long watched = 0;
  for (long long i = 0; i < g_events; i++) watched += (i == g_events - 1 || i % g_every == g_every - 1);
  long long *times = calloc((size_t)watched + 1, sizeof *times);
  static __thread char frames[BATCH][LINE_MAX_BYTES + 64];
  struct mmsghdr messages[BATCH];
  struct iovec vectors[BATCH];
  memset(messages, 0, sizeof messages);
  long long start = now_ns(CLOCK_MONOTONIC), last_ns = 0, max_lag = 0, w = 0;
  long long began_wall = now_ns(CLOCK_REALTIME);
  int other = 0, batched = 0;
  for (long long i = 0; i < g_events; i++) {
    if (g_rate > 0) {
      long long due = start + (i * 1000000000LL) / g_rate;
      long long now = now_ns(CLOCK_MONOTONIC);
      if (now < due) {
        struct timespec ts = {due / 1000000000LL, due % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
      } else if (now - due > max_lag) {
        max_lag = now - due;
      }
    }
    int is_watched = i == g_events - 1 || i % g_every == g_every - 1;
    int c = is_watched ? 0 : 1 + (other++ % (CONTAINERS - 1));
    int a = (int)(is_watched ? w % 6 : (i / CONTAINERS) % 6);
    long long t = now_ns(CLOCK_REALTIME);
    if (t <= last_ns) t = last_ns + 1;
    last_ns = t;
    char *frame = frames[batched];
    size_t length = frame_event(frame, g_prefix[c][a], g_prefix_len[c][a], t);
    if (is_watched) times[w++] = t;
    vectors[batched] = (struct iovec){frame, length};
    messages[batched].msg_hdr.msg_iov = &vectors[batched];
    messages[batched].msg_hdr.msg_iovlen = 1;
    batched++;
    /* Paced: each event is sent when it is due. A flood hands the kernel BATCH sends at once
       (sendmmsg): each is still its own send, as dockerd's write() of each event is. */
    if (g_rate > 0 || batched == BATCH || i == g_events - 1) {
      if (send_all(fd, messages, vectors, batched) < 0) {
        free(times);
        return;
      }
      batched = 0;
    }
  }
  double seconds = (double)(now_ns(CLOCK_MONOTONIC) - start) / 1e9;
  if (g_times_file[0]) {
    FILE *f = fopen(g_times_file, "wb");
    if (f) {
      fwrite(times, sizeof *times, (size_t)w, f);
      fclose(f);
    }
  }
  free(times);
  pthread_mutex_lock(&g_out);
  printf("{\"done\":true,\"written\":%lld,\"watched\":%lld,\"seconds\":%.6f,\"maxLagUs\":%.1f,"
         "\"beganNs\":%lld}\n",
         g_events, w, seconds, (double)max_lag / 1e3, began_wall);
  fflush(stdout);
  pthread_mutex_unlock(&g_out);
  /* Held open, like dockerd, until the client leaves. */
  char sink[4096];
  while (read(fd, sink, sizeof sink) > 0) {}
}

static const char *INSPECT_FMT =
    "{\"Id\":\"%s\",\"Created\":\"2026-11-20T10:00:00.000000000Z\",\"Path\":\"/docker-entrypoint.sh\","
    "\"Args\":[\"nginx\",\"-g\",\"daemon off;\"],\"State\":{\"Status\":\"running\",\"Running\":true,"
    "\"Paused\":false,\"Restarting\":false,\"OOMKilled\":false,\"Dead\":false,\"Pid\":4242,"
    "\"ExitCode\":0,\"Error\":\"\",\"StartedAt\":\"2026-11-28T09:00:00.000000000Z\","
    "\"FinishedAt\":\"0001-01-01T00:00:00Z\"},\"Image\":\"sha256:%s\",\"Name\":\"/shop-web-1\","
    "\"RestartCount\":0,\"Driver\":\"overlay2\",\"Platform\":\"linux\",\"Config\":{\"Hostname\":"
    "\"%.12s\",\"Image\":\"nginx:1.25-alpine\",\"Labels\":{\"com.docker.compose.project\":\"shop\","
    "\"com.docker.compose.service\":\"web\"}}}";

static void *serve_connection(void *arg) {
  int fd = (int)(intptr_t)arg;
  char request[16384];
  size_t have = 0;
  for (;;) {
    char *end;
    while ((end = memmem(request, have, "\r\n\r\n", 4)) == NULL) {
      if (have == sizeof request) goto out;
      ssize_t n = read(fd, request + have, sizeof request - have);
      if (n <= 0) goto out;
      have += (size_t)n;
    }
    size_t head_len = (size_t)(end - request) + 4;
    char method[16] = "", target[8192] = "";
    sscanf(request, "%15s %8191s", method, target);
    /* Skips a body (the clients here send none but an empty one). */
    size_t body = 0;
    char *cl = strcasestr(request, "\r\ncontent-length:");
    if (cl && cl < end) body = strtoul(cl + 17, NULL, 10);
    size_t used = head_len + body;
    if (used > have) used = have;
    memmove(request, request + used, have - used);
    have -= used;

    char *path = target;
    if (strncmp(path, "/v1.", 4) == 0) {
      char *slash = strchr(path + 1, '/');
      if (slash) path = slash;
    }
    int head = strcmp(method, "HEAD") == 0;
    int ok = 0;
    if (strncmp(path, "/_ping", 6) == 0) {
      ok = respond(fd, "200 OK", "text/plain; charset=utf-8", "OK", head);
    } else if (strncmp(path, "/events", 7) == 0) {
      if (strstr(path, "until=")) ok = respond(fd, "200 OK", "application/json", "", 0);
      else {
        stream_events(fd);
        goto out;
      }
    } else if (strncmp(path, "/info", 5) == 0) {
      char body_text[256];
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      struct tm tm;
      gmtime_r(&ts.tv_sec, &tm);
      char stamp[64];
      strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
      snprintf(body_text, sizeof body_text,
               "{\"ID\":\"FAKE\",\"Containers\":50,\"ServerVersion\":\"20.10.24+dfsg1\","
               "\"SystemTime\":\"%s.%09ldZ\"}",
               stamp, ts.tv_nsec);
      ok = respond(fd, "200 OK", "application/json", body_text, head);
    } else if (strncmp(path, "/version", 8) == 0) {
      ok = respond(fd, "200 OK", "application/json",
                   "{\"Version\":\"20.10.24+dfsg1\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\","
                   "\"Os\":\"linux\",\"Arch\":\"amd64\"}",
                   head);
    } else if (strncmp(path, "/containers/", 12) == 0 && strstr(path, "/json")) {
      char body_text[2048];
      snprintf(body_text, sizeof body_text, INSPECT_FMT, g_ids[0], g_hashes[0], g_ids[0]);
      ok = respond(fd, "200 OK", "application/json", body_text, head);
    } else {
      ok = respond(fd, "404 Not Found", "application/json", "{\"message\":\"page not found\"}", head);
    }
    if (ok < 0) goto out;
  }
out:
  close(fd);
  return NULL;
}

static int serve(const char *socket_path) {
  make_prefixes();
  int server = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, socket_path, sizeof address.sun_path - 1);
  unlink(socket_path);
  if (bind(server, (struct sockaddr *)&address, sizeof address) < 0 || listen(server, 64) < 0) {
    perror("listen");
    return 1;
  }
  long long watched = 0;
  for (long long i = 0; i < g_events; i++) watched += (i == g_events - 1 || i % g_every == g_every - 1);
  size_t line_bytes = 0;
  for (int a = 0; a < 6; a++) line_bytes += g_prefix_len[0][a] + 32;
  pthread_mutex_lock(&g_out);
  printf("{\"ready\":true,\"watchedId\":\"%s\",\"watchedName\":\"shop-web-1\",\"events\":%lld,"
         "\"watchedEvents\":%lld,\"lineBytes\":%zu}\n",
         g_ids[0], g_events, watched, line_bytes / 6);
  fflush(stdout);
  pthread_mutex_unlock(&g_out);
  for (;;) {
    int fd = accept(server, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, serve_connection, (void *)(intptr_t)fd);
    pthread_detach(thread);
  }
}

static int sink(const char *socket_path, long long lines) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, socket_path, sizeof address.sun_path - 1);
  long long start = now_ns(CLOCK_MONOTONIC);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    perror("connect");
    return 1;
  }
  const char *request = "GET /v1.41/events HTTP/1.1\r\nHost: docker\r\n\r\n";
  if (write_all(fd, request, strlen(request)) < 0) return 1;
  /* Wakes up for 64 KiB at a time, as a busy client does, not once per write. */
  static char buffer[1 << 18];
  long long seen = 0;
  char previous = 0;
  while (seen < lines) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    /* An event line ends with "}\n" (a chunk's own line ends are "\r\n"). */
    if (previous == '}' && buffer[0] == '\n') seen++;
    for (char *p = buffer; (p = memchr(p, '\n', (size_t)(buffer + n - p))) != NULL; p++) {
      if (p > buffer && p[-1] == '}') seen++;
    }
    previous = buffer[n - 1];
    /* A short read: lets a few events gather, as they do for a busy client, rather than
       waking up for every write. */
    if (n < (1 << 16)) usleep(SINK_PAUSE_US);
  }
  double seconds = (double)(now_ns(CLOCK_MONOTONIC) - start) / 1e9;
  printf("{\"seconds\":%.6f,\"lines\":%lld}\n", seconds, seen);
  close(fd);
  return seen == lines ? 0 : 1;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 7 && strcmp(argv[1], "serve") == 0) {
    g_events = atoll(argv[3]);
    g_every = atoll(argv[4]);
    g_rate = atoll(argv[5]);
    g_times_file = argv[6];
    if (g_events <= 0 || g_every <= 0 || g_rate < 0) return 2;
    return serve(argv[2]);
  }
  if (argc == 4 && strcmp(argv[1], "sink") == 0) return sink(argv[2], atoll(argv[3]));
  fprintf(stderr, "usage: %s serve SOCKET EVENTS WATCHED_EVERY RATE TIMES_FILE | sink SOCKET LINES\n",
          argv[0]);
  return 2;
}
