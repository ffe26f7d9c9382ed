#include "vstore/errc.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace vstore {
namespace {

TEST(Errc, EveryCodeHasDistinctNameAndMessage) {
  std::set<std::string> names;
  std::set<std::string> messages;
  for (int i = 1; i <= errc_max; ++i) {
    const auto code = static_cast<errc>(i);
    const std::string name = to_name(code);
    const std::string message = to_message(code);
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_FALSE(message.empty()) << i;
    EXPECT_NE(name, "unknown_error") << i;
    EXPECT_NE(message, "unknown error") << i;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    EXPECT_TRUE(messages.insert(message).second) << "duplicate message " << message;
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(errc_max));
}

TEST(Errc, CodeZeroIsReservedAndUnknown) {
  EXPECT_EQ(static_cast<int>(errc::unknown_space), 1);
  EXPECT_STREQ(to_name(static_cast<errc>(0)), "unknown_error");
  EXPECT_STREQ(to_name(static_cast<errc>(errc_max + 1)), "unknown_error");
}

TEST(Errc, SnapshotAndStateCodesComeLast) {
  EXPECT_EQ(static_cast<uint8_t>(errc::pruned), errc_max);
  EXPECT_EQ(static_cast<int>(errc::snapshot_expired), static_cast<int>(errc::resync_needed) + 1);
  EXPECT_EQ(write_outcome_of(errc::pruned), write_outcome::not_applied);
  EXPECT_STREQ(to_name(errc::snapshot_expired), "snapshot_expired");
}

TEST(Errc, ReplicationCodes) {
  EXPECT_EQ(static_cast<int>(errc::read_only), static_cast<int>(errc::forbidden) + 1);
  EXPECT_EQ(static_cast<int>(errc::lagging), static_cast<int>(errc::read_only) + 1);
  EXPECT_EQ(write_outcome_of(errc::read_only), write_outcome::not_applied);
  EXPECT_STREQ(to_name(errc::lagging), "lagging");
}

TEST(Errc, ForbiddenNothingWasApplied) {
  EXPECT_EQ(static_cast<int>(errc::forbidden), static_cast<int>(errc::no_space) + 1);
  EXPECT_STREQ(to_name(errc::forbidden), "forbidden");
  EXPECT_EQ(write_outcome_of(errc::forbidden), write_outcome::not_applied);
  EXPECT_NE(std::string{to_message(errc::forbidden)}.find("nothing was applied"),
            std::string::npos);
}

TEST(Errc, EveryCodeHasAWriteOutcome) {
  // The README's error table: refused codes are "no", the rest "maybe".
  for (int i = 1; i <= errc_max; ++i) {
    auto x = write_outcome_of(static_cast<errc>(i));
    EXPECT_TRUE(x == write_outcome::not_applied || x == write_outcome::maybe) << i;
  }
  EXPECT_STREQ(to_name(write_outcome_of(errc::forbidden)), "no");
  EXPECT_STREQ(to_name(write_outcome_of(errc::in_doubt)), "maybe");
}

TEST(Errc, DefaultStatusIsOk) {
  status st;
  EXPECT_TRUE(st);
  EXPECT_TRUE(st.is_ok());
  EXPECT_EQ(st.to_string(), "ok");
  EXPECT_TRUE(st.ok());
}

// ok() asks the status it is called on, as rocksdb::Status::ok() does. It was
// once a static factory of a success: `st.ok()` then compiled and was a
// success whatever `st` held, so a check written the RocksDB way could not
// fail.
TEST(Errc, OkAsksTheStatusItIsCalledOn) {
  status failed{errc::io_error, "disk"};
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(status{}.ok());
}

TEST(Errc, StatusToStringWithAndWithoutContext) {
  status with{errc::overloaded, "space data"};
  EXPECT_FALSE(with);
  EXPECT_EQ(with.code(), errc::overloaded);
  EXPECT_EQ(with.context(), "space data");
  EXPECT_EQ(with.to_string(),
            "overloaded: queue full, retry later (nothing was applied) (space data)");
  status without{errc::empty_key};
  EXPECT_FALSE(without.is_ok());
  EXPECT_EQ(without.to_string(), "empty_key: empty key");
  EXPECT_TRUE(without.context().empty());
}

}  // namespace
}  // namespace vstore
