// SPDX-License-Identifier: MIT
// A C++ crash for tests/integration/test_crash_shapes.py:
//
//   templates segv|throw
//
// main starts a std::thread, prints one JSON line (pid, tid of that thread) and joins it. The
// thread waits for a byte (or end of file) on stdin, so that a test can copy /proc/<pid>, then
// descends through Descend<N>::go() for N = 12 down to 0 (each a frame of its own), holding a
// std::vector and a std::string, and at the bottom writes through a null pointer ("segv") or
// throws an exception nobody catches ("throw": std::terminate, then abort()).
#include <cstdio>
#include <cstring>
#include <mutex>
#include <condition_variable>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

static volatile int *volatile null_pointer;
static bool throwing;

template <int N> struct Descend {
	static int go(std::vector<int> &trail, const std::string &label)
	{
		trail.push_back(N);
		return Descend<N - 1>::go(trail, label) + static_cast<int>(trail.size());
	}
};

template <> struct Descend<0> {
	static int go(std::vector<int> &trail, const std::string &label)
	{
		if (throwing)
			throw std::runtime_error(label + " at depth " +
						 std::to_string(trail.size()));
		*null_pointer = static_cast<int>(trail.size());
		return 0;
	}
};

static std::mutex lock;
static std::condition_variable started;
static long tid;

static void worker()
{
	{
		std::lock_guard<std::mutex> g(lock);
		tid = syscall(SYS_gettid);
		started.notify_one();
	}
	char c;
	if (read(0, &c, 1) < 0)
		std::perror("read");
	std::vector<int> trail;
	Descend<12>::go(trail, "templates");
}

int main(int argc, char **argv)
{
	if (argc != 2 ||
	    (std::strcmp(argv[1], "segv") != 0 && std::strcmp(argv[1], "throw") != 0)) {
		std::fprintf(stderr, "usage: templates segv|throw\n");
		return 2;
	}
	throwing = std::strcmp(argv[1], "throw") == 0;
	std::thread t(worker);
	{
		std::unique_lock<std::mutex> g(lock);
		started.wait(g, [] { return tid != 0; });
	}
	std::printf("{\"pid\": %d, \"tid\": %ld}\n", static_cast<int>(getpid()), tid);
	std::fflush(stdout);
	t.join();
	return 1;
}
