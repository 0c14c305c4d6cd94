// crepe-server's security settings without a network: the token check, token files, which
// addresses count as loopback, and which combinations MakeServerSecurity refuses. The same with
// real certificates and connections: tests/service/python/test_security.py.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bearer_tokens.h"
#include "support/test_paths.h"
#include "transport_security.h"

namespace crepe {
namespace {

using rpc::BearerTokens;

TEST(BearerTokens, HealthNeedsNoTokenEverythingElseOneOfThem) {
  const BearerTokens tokens({"alpha-123", "beta_456"});
  EXPECT_TRUE(tokens.Check("/grpc.health.v1.Health/Check", "").ok());
  EXPECT_TRUE(tokens.Check("/grpc.health.v1.Health/Watch", "").ok());
  EXPECT_TRUE(tokens.Check("/crepe.v1.PitchService/Predict", "Bearer alpha-123").ok());
  EXPECT_TRUE(tokens.Check("/crepe.v1.PitchService/Predict", "Bearer beta_456").ok());
  for (const char* bad : {"", "Bearer ", "Bearer alpha-12", "Bearer alpha-1234", "bearer alpha-123", "Basic alpha-123",
                          "alpha-123", "Bearer  alpha-123"}) {
    const Status s = tokens.Check("/crepe.v1.PitchService/Predict", bad);
    EXPECT_EQ(s.code(), StatusCode::kUnauthenticated) << "'" << bad << "'";
    EXPECT_EQ(s.message().find("alpha"), std::string::npos) << "a refusal must not echo a token";
  }
  // Reflection and anything not health needs the token too; so does a path that only looks like health.
  EXPECT_FALSE(tokens.Check("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "").ok());
  EXPECT_FALSE(tokens.Check("/grpc.health.v1.HealthX/Check", "").ok());
}

TEST(BearerTokens, TokenFilesSkipCommentsAndBlanksAndRefuseJunk) {
  auto tokens = rpc::ParseTokens("# callers\n\n  first \r\nsecond\n#third\n", "test");
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ(*tokens, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(rpc::ParseTokens("# nothing\n\n", "the token file x").status().code(), StatusCode::kInvalidArgument);
  const Status spaced = rpc::ParseTokens("two words\n", "the token file x").status();
  EXPECT_EQ(spaced.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(spaced.message().find("the token file x"), std::string::npos);
  EXPECT_EQ(spaced.message().find("words"), std::string::npos) << "errors never quote a token";
  EXPECT_EQ(rpc::ReadTokenFile("/nonexistent/tokens").status().code(), StatusCode::kNotFound);
}

TEST(TransportSecurity, LoopbackAddresses) {
  for (const char* yes : {"127.0.0.1:50051", "127.1.2.3:0", "localhost:50051", "[::1]:50051", "unix:/tmp/s"}) {
    EXPECT_TRUE(server::IsLoopbackAddress(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "crepe:50051", "128.0.0.1:1"}) {
    EXPECT_FALSE(server::IsLoopbackAddress(no)) << no;
  }
}

TEST(TransportSecurity, UnsafeCombinationsAreRefusedWithAWayOut) {
  const std::string dir = test::MakeTempDir("security");
  const std::string token_file = dir + "/tokens";
  std::ofstream(token_file) << "secret-token\n";
  server::ServerOptions o;
  o.listen = "0.0.0.0:50051";
  auto refused = server::MakeServerSecurity(o);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--allow-insecure"), std::string::npos);
  o.allow_insecure = true;
  auto allowed = server::MakeServerSecurity(o);
  ASSERT_TRUE(allowed.ok()) << allowed.status().ToString();
  ASSERT_EQ(allowed->warnings.size(), 1u);
  o.listen = "127.0.0.1:0";
  o.allow_insecure = false;
  ASSERT_TRUE(server::MakeServerSecurity(o).ok());
  EXPECT_TRUE(server::MakeServerSecurity(o)->warnings.empty());
  o.token_file = token_file;
  auto plain_tokens = server::MakeServerSecurity(o);
  EXPECT_EQ(plain_tokens.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(plain_tokens.status().message().find("need TLS"), std::string::npos);
  o.tls_cert = token_file;  // not a certificate
  o.tls_key = token_file;
  auto not_pem = server::MakeServerSecurity(o);
  EXPECT_EQ(not_pem.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_pem.status().message().find(token_file), std::string::npos);
  o.tls_cert = dir + "/missing.pem";
  EXPECT_EQ(server::MakeServerSecurity(o).status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crepe
