// A safetensors file filled piece by piece: its header (names, dtypes, shapes) is fixed when the
// file is created, and each tensor's bytes are written at their place whenever they are ready, in
// any order. This lets a pruned checkpoint be written block by block while the model streams,
// without ever holding the whole model. Laid out as write_safetensors lays out the same tensors,
// so both give the same bytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace ps {

class SafetensorsWriter {
public:
    // Creates `path` (which must not exist) with its header and room for every tensor; `tensors`
    // give name, dtype and shape. Throws ps::Error naming the file (also when the disk lacks room).
    SafetensorsWriter(std::string path, const std::vector<TensorInfo>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
    ~SafetensorsWriter();  // a file that was not finished is removed
    SafetensorsWriter(const SafetensorsWriter&) = delete;
    SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

    const std::string& path() const { return path_; }
    // Every tensor in file order, with its byte range in the data buffer.
    const std::vector<TensorInfo>& tensors() const { return layout_.tensors; }
    const TensorInfo* find(const std::string& name) const;
    // Writes one tensor's bytes (`nbytes` must be its size); each tensor once.
    void write(const std::string& name, const void* data, uint64_t nbytes);
    bool written(const std::string& name) const;
    // Checks every tensor was written (else throws naming the first missing one), then flushes
    // the file to disk and closes it.
    void finish();

private:
    void pwrite_all(const void* data, uint64_t nbytes, uint64_t offset);

    std::string path_;
    SafetensorsLayout layout_;
    std::map<std::string, size_t> index_;
    std::vector<bool> written_;
    int fd_ = -1;
};

}  // namespace ps
