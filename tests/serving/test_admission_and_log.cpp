// Who gets a slot (overall and per peer), how a peer is named, and how caller-supplied text is
// kept from forging log lines.
#include <gtest/gtest.h>

#include <vector>

#include "call_admission.h"
#include "call_log.h"
#include "error_reasons.h"

namespace crepe {
namespace {

using server::CallAdmission;

TEST(CallAdmission, OnePeerCannotTakeEverySlot) {
  CallAdmission admission(/*max_calls=*/5, /*max_calls_per_peer=*/3);
  std::vector<CallAdmission::Ticket> held;
  for (int i = 0; i < 3; ++i) {
    auto t = admission.Admit("ipv4:10.0.0.1");
    ASSERT_TRUE(t.ok());
    held.push_back(std::move(*t));
  }
  const auto refused = admission.Admit("ipv4:10.0.0.1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().reason(), server::reasons::kPeerCallLimit);
  auto other = admission.Admit("ipv4:10.0.0.2");  // another client still gets in
  ASSERT_TRUE(other.ok());
  auto other2 = admission.Admit("ipv4:10.0.0.3");
  ASSERT_TRUE(other2.ok());
  const auto full = admission.Admit("ipv4:10.0.0.4");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().reason(), server::reasons::kTooManyCalls);
  held.pop_back();  // a ticket gives its slot back when it goes
  EXPECT_EQ(admission.active(), 4);
  EXPECT_EQ(admission.active_for("ipv4:10.0.0.1"), 2);
  EXPECT_TRUE(admission.Admit("ipv4:10.0.0.1").ok());
}

TEST(CallAdmission, PeersAreAddressesWithoutThePort) {
  EXPECT_EQ(server::PeerKey("ipv4:127.0.0.1:54321"), "ipv4:127.0.0.1");
  EXPECT_EQ(server::PeerKey("ipv6:[::1]:5678"), "ipv6:[::1]");
  EXPECT_EQ(server::PeerKey("ipv6:%5B::ffff:127.0.0.1%5D:5678"), "ipv6:[::ffff:127.0.0.1]");
  EXPECT_EQ(server::PeerKey("unix:/tmp/socket"), "unix:/tmp/socket");
}

TEST(CallLog, CallerTextCannotForgeLogLines) {
  EXPECT_EQ(server::EscapeForLog("clip-01.wav"), "clip-01.wav");
  EXPECT_EQ(server::EscapeForLog("a\nrequest \"x\" OK\r"), "a\\x0arequest \\\"x\\\" OK\\x0d");
  EXPECT_EQ(server::EscapeForLog("caf\xc3\xa9"), "caf\\xc3\\xa9");
  EXPECT_EQ(server::EscapeForLog(std::string(200, 'x'), 8), "xxxxxxxx...");
}

}  // namespace
}  // namespace crepe
