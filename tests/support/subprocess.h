// tests/support/subprocess.h — run the odlm binary (or any program) as a real process in tests.
//
// RunProcess: feeds stdin, captures stdout and stderr separately, returns the exit code (or
// 128 + signal). Bounded: the child is killed after `timeout_s`. Spawned: a child with pipes to
// drive interactively (write lines, read what it printed, send signals). RunOdlm: the odlm
// binary with arguments written as words; RunShell: a command line for /bin/sh, for the few
// tests that need a shell (cd, environment, pipes). No shell is involved otherwise.
// Programs are looked up on PATH when argv[0] has no slash (execvp).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace odlm::testing {

// Path of the odlm binary built with the tests.
inline std::string OdlmBinary() { return std::string(ODLM_BINARY_DIR) + "/odlm"; }

struct ProcessResult {
  int exit_code = -1;  // 128 + signal if killed by one
  std::string out, err;
  bool timed_out = false;
};

class Spawned {
 public:
  // capture_stderr false: the child writes its stderr to the test's (a long-running server's
  // log, which no one drains otherwise).
  explicit Spawned(const std::vector<std::string>& argv, bool capture_stderr = true) {
    int in[2], out[2], err[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0 || ::pipe(err) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      if (capture_stderr) ::dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
    if (!capture_stderr) {
      ::close(err_);
      err_ = -1;
    }
    ::fcntl(out_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_, F_SETFL, O_NONBLOCK);
    ::signal(SIGPIPE, SIG_IGN);
  }
  ~Spawned() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait(5);
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) ::close(fd);
    }
  }
  pid_t pid() const { return pid_; }
  void Write(const std::string& s) {
    if (in_ >= 0) (void)!::write(in_, s.data(), s.size());
  }
  void CloseStdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }
  void Signal(int sig) { ::kill(pid_, sig); }
  // Reads what is available for up to `timeout_s`, until `until` appears in stdout (if given)
  // or stdout is closed (the child exited).
  std::string ReadOut(double timeout_s, const std::string& until = "") {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      Drain();
      if (!until.empty() && out_text_.find(until) != std::string::npos) break;
      if (out_eof_) break;
      ::usleep(5000);
    }
    return out_text_;
  }
  // Reads for up to `timeout_s` until stdout holds at least `min_bytes` bytes (a streamed answer
  // has started) or is closed; returns what it holds.
  std::string ReadOutPast(double timeout_s, size_t min_bytes) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      Drain();
      if (out_text_.size() >= min_bytes || out_eof_) break;
      ::usleep(5000);
    }
    return out_text_;
  }
  // Waits for exit (kills after timeout_s); returns the exit code, 128 + signal if signaled.
  int Wait(double timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    int status = 0;
    for (;;) {
      Drain();
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > end) {
        timed_out_ = true;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      ::usleep(5000);
    }
    reaped_ = true;
    Drain();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool reaped() const { return reaped_; }
  const std::string& out() const { return out_text_; }
  const std::string& err() const { return err_text_; }
  bool timed_out() const { return timed_out_; }

 private:
  void Drain() {
    char buf[4096];
    for (auto [fd, text] : {std::pair{out_, &out_text_}, std::pair{err_, &err_text_}}) {
      if (fd < 0) continue;
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n == 0 && fd == out_) out_eof_ = true;
        if (n <= 0) break;
        text->append(buf, static_cast<size_t>(n));
      }
    }
  }
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  bool reaped_ = false, timed_out_ = false, out_eof_ = false;
  std::string out_text_, err_text_;
};

// Runs argv to completion with `input` on stdin.
inline ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                                double timeout_s = 60) {
  Spawned p(argv);
  p.Write(input);
  p.CloseStdin();
  ProcessResult r;
  r.exit_code = p.Wait(timeout_s);
  r.out = p.out();
  r.err = p.err();
  r.timed_out = p.timed_out();
  return r;
}

// Splits `words` at spaces, tabs and newlines; '…' groups words into one argument (no other
// shell syntax: no escapes, variables or redirections). "a 'b c'" → {"a", "b c"}.
inline std::vector<std::string> SplitArgs(std::string_view words) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false, quoted = false;
  for (char c : words) {
    if (quoted) {
      if (c == '\'') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '\'') {
      quoted = in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// Runs `odlm ARGS` (ARGS split by SplitArgs) with `input` on stdin.
inline ProcessResult RunOdlm(std::string_view args, const std::string& input = "",
                             double timeout_s = 60) {
  std::vector<std::string> argv = {OdlmBinary()};
  for (std::string& a : SplitArgs(args)) argv.push_back(std::move(a));
  return RunProcess(argv, input, timeout_s);
}

// Runs `command` with /bin/sh -c (redirections, cd, environment variables work).
inline ProcessResult RunShell(const std::string& command, double timeout_s = 180) {
  return RunProcess({"/bin/sh", "-c", command}, "", timeout_s);
}

}  // namespace odlm::testing
