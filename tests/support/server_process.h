// tests/support/server_process.h — runs `odlm serve` as a real child process for end-to-end tests.
//
// Start() launches the binary with --port 0 (the server picks a free loopback port and prints it),
// waits for the "listening on" line, and records the port. The destructor kills the process
// (SIGKILL if it has not exited) and reaps it, so no test leaves a server behind. Also: a temp
// directory that removes itself, a small generated model, HTTP helpers over httplib::Client.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace odlm::testing {

inline std::string OdlmBinary() { return std::string(ODLM_BINARY_DIR) + "/odlm"; }

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

// Runs a command, returns its exit status and stdout.
inline int RunCommand(const std::string& cmd, std::string* out) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// A small random-weight llama (dim 64, 2 layers, built-in byte-level vocabulary) in `dir`.
inline std::string GenerateSmallModel(const std::string& dir, int ctx = 512) {
  const std::string path = dir + "/small.gguf";
  std::string out;
  const int rc = RunCommand(OdlmBinary() + " gen-model -o " + path +
                                " --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 "
                                "--vocab 512 --type q8_0 --seed 7 --ctx " +
                                std::to_string(ctx) + " 2>&1",
                            &out);
  EXPECT_EQ(rc, 0) << out;
  return path;
}

// Adds an app to a keys file and returns its key.
inline std::string AddApp(const std::string& keys, const std::string& name,
                          const std::string& extra = "") {
  std::string out;
  const int rc = RunCommand(
      OdlmBinary() + " serve --keys " + keys + " --add-app " + name + " " + extra + " 2>/dev/null",
      &out);
  EXPECT_EQ(rc, 0);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { Kill(SIGKILL); }

  // Starts `odlm serve --port 0 ARGS...`; false (with a test failure) if it does not come up
  // within 20 s.
  bool Start(const std::vector<std::string>& args) {
    int out_pipe[2];
    if (::pipe(out_pipe) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out_pipe[1], 1);
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      std::vector<std::string> all = {OdlmBinary(), "serve", "--host", "127.0.0.1", "--port", "0"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    out_ = ::fdopen(out_pipe[0], "r");
    char line[512];
    // Blocks until the server prints its first line or exits (EOF).
    if (!out_ || !std::fgets(line, sizeof(line), out_)) {
      ADD_FAILURE() << "odlm serve did not start (exited before listening)";
      return false;
    }
    const std::string s = line;
    const size_t colon = s.find("127.0.0.1:");
    if (colon == std::string::npos) {
      ADD_FAILURE() << "unexpected first line from odlm serve: " << s;
      return false;
    }
    port_ = std::stoi(s.substr(colon + 10));
    return port_ > 0;
  }

  // Sends `sig` and waits up to `timeout` for exit; returns the exit code (or -1; SIGKILL after).
  int Stop(int sig = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        Close();
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Kill(SIGKILL);
    return -1;
  }

  void Kill(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      int status;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    Close();
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
  void Close() {
    if (out_) std::fclose(out_);
    out_ = nullptr;
  }
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
};

// The JSON body of a response, or a discarded value when it is not JSON.
inline nlohmann::json BodyJson(const httplib::Result& r) {
  if (!r) return nlohmann::json::value_t::discarded;
  return nlohmann::json::parse(r->body, nullptr, false);
}

}  // namespace odlm::testing
