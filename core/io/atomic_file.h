// Writes a file so that readers see either the old content or the complete new one: data goes to
// a temp file beside the target, is fsynced, then renamed over it. Dropped without commit(), the
// temp file is removed and the target is untouched.
#pragma once
#include <cstddef>
#include <string>

namespace ps {

class AtomicFile {
public:
    explicit AtomicFile(std::string path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, size_t n);
    void commit();
    const std::string& temp_path() const { return temp_; }

private:
    std::string path_;
    std::string temp_;
    int fd_ = -1;
};

// Convenience for small text files (JSON, reports).
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace ps
