// Shared helpers for the test suites: running the reference Python of the project's .venv and
// the CLI, and writing small byte files.
#pragma once
#include <QByteArray>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "core/error.h"

namespace ps_test {

struct Run {
    int exit_code = -1;
    QByteArray out;
    QByteArray err;
};

inline Run run_program(const QString& program, const QStringList& args, int timeout_ms = 240000) {
    QProcess p;
    p.start(program, args);
    Run r;
    if (!p.waitForStarted(20000)) {
        r.err = "could not start " + program.toUtf8();
        return r;
    }
    if (!p.waitForFinished(timeout_ms)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out: " + program.toUtf8();
        return r;
    }
    r.exit_code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// Runs tests/python/<script> with the .venv interpreter.
inline Run run_python(const QString& script, const QStringList& args, int timeout_ms = 240000) {
    return run_program(PS_PYTHON, QStringList{QString(PS_SOURCE_DIR) + "/tests/python/" + script} + args, timeout_ms);
}

inline Run run_cli(const QStringList& args) { return run_program(PS_CLI, args, 60000); }

inline void write_bytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    QCOMPARE(f.write(bytes), bytes.size());
}

// The message of the ps::Error `f` throws, or "" when it throws none.
inline QString error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ps::Error& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0), for tests
// that start their own rendezvous.
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) ::close(fd);
    return port;
}

inline QByteArray read_bytes(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

}  // namespace ps_test
