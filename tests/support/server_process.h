// tests/support/server_process.h — runs `odlm serve` as a real child process for end-to-end tests.
//
// Start() launches the binary with --port 0 (the server picks a free loopback port and prints it),
// waits for the "listening on" line, and records the port. The destructor kills the process
// (SIGKILL if it has not exited) and reaps it, so no test leaves a server behind. Also: a temp
// directory that removes itself, a small generated model, HTTP helpers over httplib::Client.
// Processes are run through tests/support/subprocess.h.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace odlm::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/odlm_server_test_XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A small random-weight llama (dim 64, 2 layers, built-in byte-level vocabulary) in `dir`.
inline std::string GenerateSmallModel(const std::string& dir, int ctx = 512,
                                      const std::string& type = "q8_0") {
  const std::string path = dir + "/small.gguf";
  const ProcessResult r = RunOdlm("gen-model -o '" + path +
                                  "' --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 "
                                  "--vocab 512 --type " +
                                  type + " --seed 7 --ctx " + std::to_string(ctx));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return path;
}

// Adds an app to a keys file and returns its key. `extra`: more serve flags, as words.
inline std::string AddApp(const std::string& keys, const std::string& name,
                          const std::string& extra = "") {
  const ProcessResult r = RunOdlm("serve --keys '" + keys + "' --add-app " + name + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string key = r.out;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

// `odlm serve` as a child process (subprocess.h Spawned; its stderr goes to the test's log).
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { Kill(SIGKILL); }

  // Starts `odlm serve --port 0 ARGS...`; false (with a test failure) if it does not come up
  // within 20 s.
  bool Start(const std::vector<std::string>& args) {
    std::vector<std::string> all = {OdlmBinary(), "serve", "--host", "127.0.0.1", "--port", "0"};
    all.insert(all.end(), args.begin(), args.end());
    child_ = std::make_unique<Spawned>(all, /*capture_stderr=*/false);
    // The first line says where it listens.
    const std::string out = child_->ReadOut(20, "\n");
    const size_t eol = out.find('\n');
    if (eol == std::string::npos) {
      ADD_FAILURE() << "odlm serve did not start (exited or silent before listening): " << out;
      return false;
    }
    const std::string s = out.substr(0, eol);
    const size_t colon = s.find("127.0.0.1:");
    if (colon == std::string::npos) {
      ADD_FAILURE() << "unexpected first line from odlm serve: " << s;
      return false;
    }
    port_ = std::stoi(s.substr(colon + 10));
    return port_ > 0;
  }

  // Sends `sig` and waits up to `timeout` for exit; returns the exit code, 128 + signal if it
  // died of one (SIGKILL after the timeout: 137), -1 if it is not running.
  int Stop(int sig = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    if (!child_ || child_->reaped()) return -1;
    child_->Signal(sig);
    return child_->Wait(static_cast<double>(timeout.count()));
  }

  void Kill(int sig) {
    if (!child_ || child_->reaped()) return;
    child_->Signal(sig);
    child_->Wait(60);
  }

  int port() const { return port_; }
  httplib::Client Client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(5, 0);
    if (!key.empty()) c.set_bearer_token_auth(key);
    return c;
  }

 private:
  std::unique_ptr<Spawned> child_;
  int port_ = 0;
};

// The JSON body of a response, or a discarded value when it is not JSON.
inline nlohmann::json BodyJson(const httplib::Result& r) {
  if (!r) return nlohmann::json::value_t::discarded;
  return nlohmann::json::parse(r->body, nullptr, false);
}

// The value of an unlabelled sample `name` in a /metrics text, or -1 when it is absent.
inline double MetricValue(const std::string& metrics_text, const std::string& name) {
  const size_t at = ("\n" + metrics_text).find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(metrics_text.c_str() + at + name.size() + 1, nullptr);
}

}  // namespace odlm::testing
