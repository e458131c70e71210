#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "core/error.h"

namespace ps {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    std::random_device rd;
    for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
        temp_ = path_ + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000);
        fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0 && errno != EEXIST) break;
    }
    if (fd_ < 0) throw Error(path_, std::string("cannot create temporary file: ") + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(temp_.c_str());
    }
}

void AtomicFile::write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw Error(path_, std::string("write failed: ") + std::strerror(errno));
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_) != 0) throw Error(path_, std::string("fsync failed: ") + std::strerror(errno));
    if (::close(fd_) != 0) {
        fd_ = -1;
        ::unlink(temp_.c_str());
        throw Error(path_, std::string("close failed: ") + std::strerror(errno));
    }
    fd_ = -1;
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
        int e = errno;
        ::unlink(temp_.c_str());
        throw Error(path_, std::string("rename failed: ") + std::strerror(e));
    }
}

void write_file_atomic(const std::string& path, const std::string& content) {
    AtomicFile f(path);
    f.write(content.data(), content.size());
    f.commit();
}

}  // namespace ps
