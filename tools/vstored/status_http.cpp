#include "tools/vstored/status_http.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "tools/common/prometheus.hpp"

namespace vstore::server {

namespace {

/// Threads answering requests; scrapes are rare, two keep a slow manager
/// from blocking /ready behind a /metrics.
constexpr size_t worker_threads = 2;

/// An HTTP answer.
struct answer {
  int code = 200;
  std::string body;
  const char* type = "text/plain; charset=utf-8";
};

}  // namespace

struct status_server::impl {
  impl(caf::actor_system& s, status_settings x) : sys(s), settings(std::move(x)) {}

  caf::actor_system& sys;
  status_settings settings;
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> thread_done{false};
  std::atomic<phase> current{phase::starting};
  std::mutex mtx;
  manager_actor mgr;  // guarded by mtx
  int port = 0;
  bool stopped = false;  // guarded by mtx

  manager_actor manager() {
    std::lock_guard<std::mutex> guard{mtx};
    return mgr;
  }

  std::string timeout_text() const {
    return "the storage manager did not answer within " + std::to_string(settings.timeout.count()) +
           " ms";
  }

  /// Asks the manager; returns false with `why` set on an error or timeout.
  template <class Reply, class Request>
  bool ask(const manager_actor& m, Request req, std::chrono::milliseconds timeout, Reply& out,
           std::string& why) {
    if (!m) {
      why = "starting: the store is being opened";
      return false;
    }
    if (timeout.count() <= 0) {
      why = timeout_text();
      return false;
    }
    bool ok = false;
    caf::scoped_actor self{sys};
    self->request(m, timeout, std::move(req))
        .receive(
            [&](Reply& r) {
              out = std::move(r);
              ok = true;
            },
            [&](caf::error& e) {
              why = e == caf::sec::request_timeout
                        ? timeout_text()
                        : "the storage manager failed the request: " + sys.render(e);
            });
    return ok;
  }

  answer metrics() {
    using clock = std::chrono::steady_clock;
    auto deadline = clock::now() + settings.timeout;
    auto left = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    };
    auto m = manager();
    stats_reply stats;
    status_reply status;
    std::string why;
    prometheus::scrape s;
    s.version = settings.version;
    if (ask(m, stats_request{}, left(), stats, why)) {
      s.stats = &stats;
      if (ask(m, status_request{}, left(), status, why)) s.status = &status;
    }
    answer a;
    a.type = prometheus::content_type;
    a.body = prometheus::render(s);
    if (s.stats == nullptr) {
      a.code = 503;
      a.body = "# " + why + "\n" + a.body;
    }
    return a;
  }

  answer health() {
    status_reply st;
    std::string why;
    if (!ask(manager(), status_request{}, settings.timeout, st, why)) return {503, why + "\n"};
    const auto& h = st.health;
    if (h.state != "ok") {
      std::string body = "store " + h.state;
      if (!h.code.empty()) body += " (writes refused: " + h.code + ")";
      if (!h.message.empty()) body += ": " + h.message;
      return {503, body + "\n"};
    }
    std::string down;
    for (size_t i = 0; i < st.states.size(); ++i) {
      if (st.states[i] == "ok") continue;
      down += down.empty() ? "" : ", ";
      down += i < st.spaces.size() ? st.spaces[i] : std::to_string(i);
      down += " " + st.states[i];
    }
    if (!down.empty()) return {503, "spaces not serving: " + down + "\n"};
    return {200, "ok\n"};
  }

  answer ready() {
    switch (current.load()) {
      case phase::starting:
        return {503, "starting: the store is being opened\n"};
      case phase::draining:
        return {503, "draining: vstored is shutting down\n"};
      case phase::stopped:
        return {503, "stopped\n"};
      case phase::serving:
        break;
    }
    status_reply st;
    std::string why;
    if (!ask(manager(), status_request{}, settings.timeout, st, why)) return {503, why + "\n"};
    if (st.shutting_down) return {503, "draining: the manager is shutting down\n"};
    return {200, "ready\n"};
  }

  void route(const char* path, answer (impl::*f)()) {
    http.Get(path, [this, f](const httplib::Request&, httplib::Response& res) {
      answer a;
      try {
        a = (this->*f)();
      } catch (const std::exception& e) {
        a = {500, std::string{"internal error: "} + e.what() + "\n"};
      }
      res.status = a.code;
      res.set_header("Cache-Control", "no-store");
      res.set_content(a.body, a.type);
    });
  }
};

status_server::status_server(caf::actor_system& sys, status_settings settings)
    : impl_(std::make_unique<impl>(sys, std::move(settings))) {}

status_server::~status_server() { stop(); }

bool status_server::start(std::string& error) {
  auto& x = *impl_;
  x.route("/metrics", &impl::metrics);
  x.route("/health", &impl::health);
  x.route("/ready", &impl::ready);
  // cpp-httplib's default sets SO_REUSEPORT, which lets a second process
  // bind the same port and steal scrapes; SO_REUSEADDR only allows a restart
  // while old connections linger in TIME_WAIT.
  x.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  x.http.new_task_queue = [] { return new httplib::ThreadPool(worker_threads); };
  x.http.set_keep_alive_max_count(10);
  x.http.set_keep_alive_timeout(1);
  x.http.set_read_timeout(5, 0);
  x.http.set_write_timeout(5, 0);
  x.http.set_payload_max_length(4096);
  errno = 0;
  const auto& s = x.settings;
  int port = s.port == 0 ? x.http.bind_to_any_port(s.host)
                         : (x.http.bind_to_port(s.host, s.port) ? s.port : -1);
  if (port <= 0) {
    int err = errno;
    error = err != 0 ? std::strerror(err) : "cannot bind";
    return false;
  }
  x.port = port;
  x.thread = std::thread([&x] {
    x.http.listen_after_bind();
    x.thread_done = true;
  });
  // stop() is a no-op until the listening loop runs: wait for it (bounded).
  for (int i = 0; i < 5000 && !x.http.is_running() && !x.thread_done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!x.http.is_running()) {
    error = "the HTTP server did not start";
    stop();
    return false;
  }
  return true;
}

uint16_t status_server::port() const { return static_cast<uint16_t>(impl_->port); }

void status_server::set_manager(manager_actor mgr) {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->mgr = std::move(mgr);
  }
  impl_->current = phase::serving;
}

void status_server::set_phase(phase p) { impl_->current = p; }

void status_server::stop() {
  auto& x = *impl_;
  {
    std::lock_guard<std::mutex> guard{x.mtx};
    if (x.stopped) return;
    x.stopped = true;
  }
  x.current = phase::stopped;
  if (x.http.is_running()) x.http.stop();
  if (x.thread.joinable()) x.thread.join();
  std::lock_guard<std::mutex> guard{x.mtx};
  x.mgr = manager_actor{};
}

}  // namespace vstore::server
