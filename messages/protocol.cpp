#include "messages/protocol.hpp"

#include <caf/all.hpp>

namespace vstore {

caf::error make_error(errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("vstore"),
                    caf::make_message(std::move(context))};
}

caf::error to_error(const status& st) {
  if (st) return {};
  return make_error(st.code(), st.context());
}

namespace {

std::string context_of(const caf::error& e) {
  const auto& ctx = e.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0)) return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : caf::to_string(ctx);
}

}  // namespace

status to_status(const caf::error& e) {
  if (!e) return {};
  if (e.category() == caf::atom("vstore")) {
    if (e.code() >= 1 && e.code() <= errc_max) return {static_cast<errc>(e.code()), context_of(e)};
    return {errc::internal, "unknown vstore error code " + std::to_string(e.code())};
  }
  if (e.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(e.code())) {
      case caf::sec::request_timeout:
        return {errc::timeout, "no reply within the request timeout"};
      case caf::sec::request_receiver_down:
        return {errc::unavailable, "the receiving actor is down"};
      case caf::sec::disconnect_during_handshake:
      case caf::sec::cannot_connect_to_node:
      case caf::sec::no_route_to_receiving_node:
      case caf::sec::remote_linking_failed:
      case caf::sec::socket_disconnected:
      case caf::sec::connection_timeout:
      case caf::sec::remote_lookup_failed:
        return {errc::disconnected, caf::to_string(e)};
      case caf::sec::runtime_error:
        return {errc::internal, caf::to_string(e)};
      case caf::sec::unexpected_response:
      case caf::sec::unexpected_message:
        return {errc::invalid_argument,
                "unexpected message (unregistered type?): " + caf::to_string(e)};
      default:
        break;
    }
  }
  if (e == caf::exit_reason::remote_link_unreachable)
    return {errc::disconnected, "node unreachable"};
  return {errc::internal, caf::to_string(e)};
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<key_value>("vstore::key_value")
      .add_message_type<get_request>("vstore::get_request")
      .add_message_type<get_reply>("vstore::get_reply")
      .add_message_type<multi_get_request>("vstore::multi_get_request")
      .add_message_type<multi_get_reply>("vstore::multi_get_reply")
      .add_message_type<scan_request>("vstore::scan_request")
      .add_message_type<scan_reply>("vstore::scan_reply")
      .add_message_type<read_item>("vstore::read_item")
      .add_message_type<read_result>("vstore::read_result")
      .add_message_type<snapshot_read_request>("vstore::snapshot_read_request")
      .add_message_type<snapshot_read_reply>("vstore::snapshot_read_reply")
      .add_message_type<write_op>("vstore::write_op")
      .add_message_type<write_request>("vstore::write_request")
      .add_message_type<commit_ack>("vstore::commit_ack")
      .add_message_type<outcome_request>("vstore::outcome_request")
      .add_message_type<outcome_reply>("vstore::outcome_reply")
      .add_message_type<fence_request>("vstore::fence_request")
      .add_message_type<stats_request>("vstore::stats_request")
      .add_message_type<flush_request>("vstore::flush_request")
      .add_message_type<status_request>("vstore::status_request")
      .add_message_type<drain_request>("vstore::drain_request")
      .add_message_type<drain_reply>("vstore::drain_reply")
      .add_message_type<checkpoint_request>("vstore::checkpoint_request")
      .add_message_type<checkpoint_reply>("vstore::checkpoint_reply")
      .add_message_type<space_stats>("vstore::space_stats")
      .add_message_type<stats_reply>("vstore::stats_reply")
      .add_message_type<status_reply>("vstore::status_reply")
      .add_message_type<log_batch>("vstore::log_batch")
      .add_message_type<log_request>("vstore::log_request")
      .add_message_type<log_reply>("vstore::log_reply")
      .add_message_type<snapshot_request>("vstore::snapshot_request")
      .add_message_type<snapshot_reply>("vstore::snapshot_reply")
      .add_message_type<chunk_request>("vstore::chunk_request")
      .add_message_type<chunk_reply>("vstore::chunk_reply")
      .add_message_type<snapshot_release>("vstore::snapshot_release")
      .add_message_type<release_reply>("vstore::release_reply")
      .add_message_type<promote_request>("vstore::promote_request")
      .add_message_type<promote_reply>("vstore::promote_reply")
      .add_message_type<written_part>("vstore::written_part")
      .add_message_type<written_parts>("vstore::written_parts")
      .add_message_type<batch_part>("vstore::batch_part")
      .add_message_type<owned_part>("vstore::owned_part")
      .add_message_type<sibling_part>("vstore::sibling_part")
      .add_message_type<sealed_batch>("vstore::sealed_batch")
      .add_message_type<sealed_result>("vstore::sealed_result")
      .add_message_type<abort_space>("vstore::abort_space")
      .add_message_type<committer_stats>("vstore::committer_stats")
      .add_message_type<manager_actor>("vstore::manager_actor");
  // CAF 0.17.6's add_error_category<T> does not compile; pass a renderer.
  cfg.add_error_category(
      caf::atom("vstore"), [](uint8_t code, caf::atom_value, const caf::message& ctx) {
        std::string out = "vstore::";
        out += code >= 1 && code <= errc_max ? to_name(static_cast<errc>(code)) : "unknown_error";
        if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
          out += " (";
          out += ctx.get_as<std::string>(0);
          out += ")";
        }
        return out;
      });
}

}  // namespace vstore
