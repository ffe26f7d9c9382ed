// Network settings of a client's actor system: the remote options' checks,
// the TLS files' check, and configure_network (vstore/connect.hpp).

#include <chrono>
#include <memory>
#include <string>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "vstore/connect.hpp"

namespace vstore {

status validate(const remote_options& r) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  if (r.host.empty()) return {errc::invalid_config, "remote.host: empty"};
  if (r.port == 0) return {errc::invalid_config, "remote.port: 0 (set the server's port)"};
  if (r.tls() && (r.tls_cert.empty() || r.tls_key.empty() || r.tls_ca.empty()))
    return {errc::invalid_config,
            "remote.tls: set the certificate, the key and the CA file together (mutual TLS)"};
  if (r.connect_timeout < milliseconds(100) || r.connect_timeout > hours(1))
    return {errc::invalid_config, "remote.connect-timeout: out of range 100ms..1h"};
  if (r.heartbeat_interval < milliseconds(10) || r.heartbeat_interval >= r.connect_timeout)
    return {errc::invalid_config,
            "remote.heartbeat-interval: out of range 10ms..connect-timeout (exclusive)"};
  return {};
}

status check_tls_files(const remote_options& r) {
  if (!r.tls()) return {};
  if (r.tls_cert.empty() || r.tls_key.empty() || r.tls_ca.empty())
    return {errc::invalid_config,
            "remote.tls: set the certificate, the key and the CA file together (mutual TLS)"};
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx) return {errc::internal, "SSL_CTX_new failed"};
  // Never prompt for a passphrase on the terminal: encrypted keys fail.
  SSL_CTX_set_default_passwd_cb(ctx.get(), [](char*, int, int, void*) { return 0; });
  auto failed = [](const char* what, const std::string& file) -> status {
    auto code = ERR_get_error();
    ERR_clear_error();
    char reason[256] = "unknown reason";
    if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
    return {errc::invalid_config, std::string{what} + " " + file + ": " + reason};
  };
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), r.tls_cert.c_str()) != 1)
    return failed("cannot load the TLS certificate", r.tls_cert);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), r.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return failed("cannot load the TLS private key (PEM, unencrypted)", r.tls_key);
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return failed("the TLS private key does not match the certificate", r.tls_key);
  if (SSL_CTX_load_verify_locations(ctx.get(), r.tls_ca.c_str(), nullptr) != 1)
    return failed("cannot load the TLS CA file", r.tls_ca);
  return {};
}

void configure_network(caf::actor_system_config& cfg, const remote_options& r) {
  cfg.load<caf::io::middleman>();
  if (r.tls()) {
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.certificate", r.tls_cert);
    cfg.set("openssl.key", r.tls_key);
    cfg.set("openssl.cafile", r.tls_ca);
  }
  cfg.set("middleman.heartbeat-interval", caf::timespan{r.heartbeat_interval});
  cfg.set("middleman.connection-timeout", caf::timespan{r.connect_timeout});
}

}  // namespace vstore
