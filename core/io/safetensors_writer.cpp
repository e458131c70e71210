#include "core/io/safetensors_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace ps {

SafetensorsWriter::SafetensorsWriter(std::string path, const std::vector<TensorInfo>& tensors,
                                     const std::map<std::string, std::string>& metadata)
    : path_(std::move(path)), layout_(layout_safetensors(path_, tensors, metadata)) {
    for (size_t i = 0; i < layout_.tensors.size(); ++i) index_.emplace(layout_.tensors[i].name, i);
    written_.assign(layout_.tensors.size(), false);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(path_, std::string("cannot create: ") + std::strerror(errno));
    try {
        // Reserve the whole file now, so a full disk fails before any work rather than midway.
        const int rc = ::posix_fallocate(fd_, 0, static_cast<off_t>(layout_.file_size));
        if (rc == EINVAL || rc == EOPNOTSUPP) {
            if (::ftruncate(fd_, static_cast<off_t>(layout_.file_size)) != 0)
                throw Error(path_, std::string("cannot size the file: ") + std::strerror(errno));
        } else if (rc != 0) {
            throw Error(path_, "cannot reserve " + std::to_string(layout_.file_size) + " bytes: " + std::strerror(rc));
        }
        pwrite_all(layout_.prefix.data(), layout_.prefix.size(), 0);
    } catch (...) {
        ::close(fd_);
        ::unlink(path_.c_str());
        throw;
    }
}

SafetensorsWriter::~SafetensorsWriter() {
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
}

const TensorInfo* SafetensorsWriter::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &layout_.tensors[it->second];
}

bool SafetensorsWriter::written(const std::string& name) const {
    auto it = index_.find(name);
    return it != index_.end() && written_[it->second];
}

void SafetensorsWriter::pwrite_all(const void* data, uint64_t nbytes, uint64_t offset) {
    const char* p = static_cast<const char*>(data);
    while (nbytes > 0) {
        const ssize_t w = ::pwrite(fd_, p, nbytes, static_cast<off_t>(offset));
        if (w < 0) {
            if (errno == EINTR) continue;
            throw Error(path_, std::string("write failed: ") + std::strerror(errno));
        }
        p += w;
        offset += static_cast<uint64_t>(w);
        nbytes -= static_cast<uint64_t>(w);
    }
}

void SafetensorsWriter::write(const std::string& name, const void* data, uint64_t nbytes) {
    if (fd_ < 0) throw Error(path_, "tensor '" + name + "' written after the file was finished");
    auto it = index_.find(name);
    if (it == index_.end()) throw Error(path_, "tensor '" + name + "' is not in the file's header");
    const TensorInfo& t = layout_.tensors[it->second];
    if (written_[it->second]) throw Error(path_, "tensor '" + name + "' written twice");
    if (nbytes != t.nbytes())
        throw Error(path_, "tensor '" + name + "': " + std::to_string(nbytes) + " bytes given, its shape needs " +
                               std::to_string(t.nbytes()));
    pwrite_all(data, nbytes, layout_.prefix.size() + t.begin);
    written_[it->second] = true;
}

void SafetensorsWriter::finish() {
    if (fd_ < 0) throw Error(path_, "already finished");
    for (size_t i = 0; i < written_.size(); ++i)
        if (!written_[i]) throw Error(path_, "tensor '" + layout_.tensors[i].name + "' was never written");
    if (::fsync(fd_) != 0) throw Error(path_, std::string("fsync failed: ") + std::strerror(errno));
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) {
        ::unlink(path_.c_str());
        throw Error(path_, std::string("close failed: ") + std::strerror(errno));
    }
}

}  // namespace ps
