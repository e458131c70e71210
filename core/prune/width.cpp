#include "core/prune/width.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>


#include "core/error.h"
#include "core/io/atomic_dir.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint_files.h"
#include "core/io/tensor_view.h"
#include "core/model/config_reader.h"
#include "core/model/llama.h"
#include "core/prune/allocation.h"
#include "core/prune/gradients.h"
#include "core/prune/input_norms.h"
#include "core/prune/pattern.h"

namespace ps {
namespace {

using Clock = std::chrono::steady_clock;

// The coupled Linears of one block. Row Linears (q, k, v, fc1 / gate, up) hold a group's rows;
// column Linears (o, fc2 / down) its input columns.
struct BlockLinears {
    std::string q, k, v, o, down;
    std::vector<std::string> up;
};

struct TowerWork {
    int tower = 0;
    WidthTower info;
    std::vector<BlockLinears> blocks;  // every block of the checkpoint, run or not
    int run_blocks = 0;                // the blocks the model runs (scored on calibration data)
    bool heads = false;                // attention groups are removed in this tower
    std::vector<at::Tensor> group_scores, channel_scores;  // per block, float64 on the CPU
};

std::vector<BlockLinears> block_linears(const ModelMap& map, Modality m, const std::string& tower) {
    std::vector<BlockLinears> blocks;
    for (const LinearLayer& l : map.linears) {
        if (l.modality != m || l.block < 0) continue;
        if (static_cast<int>(blocks.size()) <= l.block) blocks.resize(l.block + 1);
        BlockLinears& b = blocks[l.block];
        if (l.role == "q") b.q = l.name;
        else if (l.role == "k") b.k = l.name;
        else if (l.role == "v") b.v = l.name;
        else if (l.role == "o") b.o = l.name;
        else if (widens_mlp(l.role)) b.up.push_back(l.name);
        else if (narrows_mlp(l.role)) b.down = l.name;
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
        const BlockLinears& b = blocks[i];
        const std::string where = tower + " block " + std::to_string(i);
        if (b.q.empty() || b.k.empty() || b.v.empty() || b.o.empty())
            throw Error(where, "has no separate q, k, v and o projections to prune heads from");
        if (b.down.empty() || b.up.empty())
            throw Error(where, "has no coupled MLP Linears (fc1/fc2 or gate/up/down)");
    }
    return blocks;
}

// Sums a per-weight importance of a Linear over `groups` equal, contiguous groups of its rows
// (`rows`) or input columns.
at::Tensor group_sums(const at::Tensor& importance, int64_t groups, bool rows) {
    const at::Tensor per = rows ? importance.sum(1) : importance.sum(0);
    return per.reshape({groups, -1}).sum(1).to(at::kCPU, at::kDouble);
}

// Group and channel scores of one block from a per-weight importance of each of its Linears.
void score_block(TowerWork& tw, int i, const std::function<at::Tensor(const std::string&)>& importance) {
    const BlockLinears& b = tw.blocks[i];
    const int64_t kv = tw.info.kv_heads_before, channels = tw.info.channels_before;
    if (tw.heads)
        tw.group_scores[i] = group_sums(importance(b.q), kv, true) + group_sums(importance(b.k), kv, true) +
                             group_sums(importance(b.v), kv, true) + group_sums(importance(b.o), kv, false);
    at::Tensor c = group_sums(importance(b.down), channels, false);
    for (const std::string& u : b.up) c = c + group_sums(importance(u), channels, true);
    tw.channel_scores[i] = c;
}

// The `count` lowest scores' indices, ascending (ties: the lower index goes first).
std::vector<int64_t> lowest(const at::Tensor& scores, int64_t count) {
    if (count == 0) return {};
    const at::Tensor s = scores.contiguous();
    const double* p = s.data_ptr<double>();
    std::vector<int64_t> order(static_cast<size_t>(s.numel()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [p](int64_t a, int64_t b) { return p[a] < p[b]; });
    order.resize(static_cast<size_t>(count));
    std::sort(order.begin(), order.end());
    return order;
}

// Row (or column) indices that survive when groups `removed` of `size` consecutive rows go.
at::Tensor kept_indices(int64_t groups, int64_t size, const std::vector<int64_t>& removed) {
    std::vector<int64_t> keep;
    for (int64_t g = 0; g < groups; ++g)
        if (!std::binary_search(removed.begin(), removed.end(), g))
            for (int64_t j = 0; j < size; ++j) keep.push_back(g * size + j);
    return at::tensor(keep, at::kLong);
}

int64_t linear_params(const WeightStore& w, const std::string& linear) {
    int64_t n = w.get(linear + ".weight").numel();
    if (w.has(linear + ".bias")) n += w.get(linear + ".bias").numel();
    return n;
}

}  // namespace

WidthResult prune_width(Vlm& model, const PruneOptions& plan, const std::vector<VlmInputs>& calibration, const JobControl& job) {
    const auto start = Clock::now();
    if (plan.method != "width") throw Error("plan method", "\"" + plan.method + "\" is not width");
    check_whole_tower_plan(plan);
    if (!plan.structured.heads && !plan.structured.channels)
        throw Error("plan structured", "neither heads nor channels are to be removed");
    if (calibration.empty()) throw Error("calibration", "no calibration batches");
    WeightStore& w = model.weights();
    const Checkpoint& ckpt = w.checkpoint();
    const ConfigReader config(ckpt.config(), ckpt.config_path());

    std::vector<TowerWork> work;
    for (int t = 0; t < static_cast<int>(model.towers().size()); ++t) {
        const TowerInfo& tower = model.towers()[t];
        const double ratio = modality_sparsity(plan, tower.modality);
        check_sparsity(ratio, "plan " + std::string(modality_name(tower.modality)) + " ratio");
        if (ratio == 0) continue;
        TowerWork tw;
        tw.tower = t;
        tw.run_blocks = tower.num_blocks;
        tw.blocks = block_linears(model.map(), tower.modality, tower.name);
        WidthTower& info = tw.info;
        info.tower = tower.name;
        info.modality = modality_name(tower.modality);
        const TowerCapabilities* caps = model.capabilities().tower(tower.modality);
        if (!caps) throw Error(model.map().family_display, "states no config of its " + tower.name + " tower for width pruning");
        info.config_key = caps->config_key;
        info.width_key = caps->width_key;
        info.ratio = ratio;
        const ConfigReader sub = config.sub(info.config_key);
        const BlockLinears& first = tw.blocks.front();
        if (caps->removable_heads) {
            info.head_dim = llama_config(sub, ckpt.config_path()).head_dim;
            info.heads_before = w.rows(first.q + ".weight") / info.head_dim;
            info.kv_heads_before = w.rows(first.k + ".weight") / info.head_dim;
            tw.heads = plan.structured.heads;
        } else {
            info.heads_before = sub.integer("num_attention_heads", 0);
            info.kv_heads_before = info.heads_before;
            if (plan.structured.heads)
                info.note = "attention heads kept: transformers derives this tower's head size from hidden_size / "
                            "num_attention_heads, so it cannot load fewer heads";
        }
        info.channels_before = w.rows(first.up.front() + ".weight");
        for (size_t i = 0; i < tw.blocks.size(); ++i) {
            const BlockLinears& b = tw.blocks[i];
            const std::string where = tower.name + " block " + std::to_string(i);
            if (w.rows(b.k + ".weight") != w.rows(first.k + ".weight") || w.rows(b.q + ".weight") != w.rows(first.q + ".weight"))
                throw Error(where, "has a different attention width than block 0");
            for (const std::string& u : b.up)
                if (w.rows(u + ".weight") != info.channels_before)
                    throw Error(where, "has a different MLP width than block 0");
        }
        if (tw.heads && (info.kv_heads_before <= 0 || info.heads_before % info.kv_heads_before))
            throw Error(tower.name + " tower", "query heads are not whole groups of key/value heads");
        const int64_t groups_removed = tw.heads ? static_cast<int64_t>(ratio * static_cast<double>(info.kv_heads_before)) : 0;
        const int64_t channels_removed =
            plan.structured.channels ? static_cast<int64_t>(ratio * static_cast<double>(info.channels_before)) : 0;
        info.kv_heads_after = info.kv_heads_before - groups_removed;
        info.heads_after = info.heads_before - groups_removed * (info.kv_heads_before ? info.heads_before / info.kv_heads_before : 0);
        info.channels_after = info.channels_before - channels_removed;
        tw.group_scores.resize(tw.blocks.size());
        tw.channel_scores.resize(tw.blocks.size());
        work.push_back(std::move(tw));
    }
    if (work.empty()) throw Error("plan", "every tower's width ratio is 0: nothing to remove");
    int64_t removing = 0;
    for (const TowerWork& tw : work)
        removing += (tw.info.kv_heads_before - tw.info.kv_heads_after) + (tw.info.channels_before - tw.info.channels_after);
    if (removing == 0) throw Error("plan sparsity", "the ratios are too small to remove a whole head or channel");

    // Scores of the blocks the model runs, from the calibration batches.
    if (plan.structured.score == "taylor") {
        std::vector<std::string> names;
        for (const TowerWork& tw : work)
            for (int i = 0; i < tw.run_blocks; ++i) {
                const BlockLinears& b = tw.blocks[i];
                for (const std::string& l : {b.q, b.k, b.v, b.o, b.down}) names.push_back(l + ".weight");
                for (const std::string& u : b.up) names.push_back(u + ".weight");
            }
        const std::map<std::string, at::Tensor> gradient = summed_gradients(model, names, calibration, job);
        for (TowerWork& tw : work)
            for (int i = 0; i < tw.run_blocks; ++i)
                score_block(tw, i, [&](const std::string& l) {
                    return (w.get(l + ".weight").to(at::kFloat) * gradient.at(l + ".weight")).abs().to(at::kDouble);
                });
    } else {
        std::vector<std::string> linears;  // inputs of o and down
        for (const TowerWork& tw : work)
            for (int i = 0; i < tw.run_blocks; ++i) {
                linears.push_back(tw.blocks[i].o);
                linears.push_back(tw.blocks[i].down);
            }
        const auto norms = input_column_norms(model, linears, calibration, job, "width scores");
        for (TowerWork& tw : work)
            for (int i = 0; i < tw.run_blocks; ++i) {
                const BlockLinears& b = tw.blocks[i];
                const at::Tensor o = norms.at(b.o).mean_squared_norms().unsqueeze(0);
                const at::Tensor down = norms.at(b.down).mean_squared_norms().unsqueeze(0);
                if (tw.heads) tw.group_scores[i] = group_sums(o, tw.info.kv_heads_before, false);
                tw.channel_scores[i] = group_sums(down, tw.info.channels_before, false);
            }
    }
    // Blocks held but not run: by weight magnitude (they do not change the outputs).
    for (TowerWork& tw : work)
        for (int i = tw.run_blocks; i < static_cast<int>(tw.blocks.size()); ++i)
            score_block(tw, i, [&](const std::string& l) { return w.get(l + ".weight").abs().to(at::kDouble); });
    job.check("width pruning");

    // The shrunk tensors, all computed before any is set.
    std::vector<std::pair<std::string, at::Tensor>> shrunk;
    WidthResult result;
    result.score = plan.structured.score;
    for (TowerWork& tw : work) {
        WidthTower& info = tw.info;
        const int64_t group_size = info.heads_before / std::max<int64_t>(info.kv_heads_before, 1);
        for (size_t i = 0; i < tw.blocks.size(); ++i) {
            const BlockLinears& b = tw.blocks[i];
            const std::vector<int64_t> groups = lowest(tw.group_scores[i], info.kv_heads_before - info.kv_heads_after);
            const std::vector<int64_t> channels = lowest(tw.channel_scores[i], info.channels_before - info.channels_after);
            info.removed_groups.push_back(groups);
            info.removed_channels.push_back(channels);
            auto values = [](const at::Tensor& t) {
                if (!t.defined()) return std::vector<double>{};
                const at::Tensor c = t.contiguous();
                return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
            };
            info.group_scores.push_back(values(tw.group_scores[i]));
            info.channel_scores.push_back(values(tw.channel_scores[i]));
            std::vector<std::string> linears = {b.q, b.k, b.v, b.o, b.down};
            linears.insert(linears.end(), b.up.begin(), b.up.end());
            for (const std::string& l : linears) info.params_before += linear_params(w, l);
            auto keep = [&](const std::string& l, const at::Tensor& rows, const at::Tensor& cols) {
                const at::Tensor wt = w.get(l + ".weight");
                at::Tensor nw = wt;
                if (rows.defined()) nw = nw.index_select(0, rows.to(wt.device()));
                if (cols.defined()) nw = nw.index_select(1, cols.to(wt.device()));
                shrunk.emplace_back(l + ".weight", nw.contiguous());
                info.params_after += nw.numel();
                if (w.has(l + ".bias")) {
                    const at::Tensor bias = w.get(l + ".bias");
                    const at::Tensor nb = rows.defined() ? bias.index_select(0, rows.to(bias.device())).contiguous() : bias;
                    if (rows.defined()) shrunk.emplace_back(l + ".bias", nb);
                    info.params_after += nb.numel();
                }
            };
            const bool heads = !groups.empty(), mlp = !channels.empty();
            const at::Tensor q_rows = heads ? kept_indices(info.kv_heads_before, group_size * info.head_dim, groups) : at::Tensor();
            const at::Tensor kv_rows = heads ? kept_indices(info.kv_heads_before, info.head_dim, groups) : at::Tensor();
            const at::Tensor ch = mlp ? kept_indices(info.channels_before, 1, channels) : at::Tensor();
            auto keep_or_count = [&](const std::string& l, bool change, const at::Tensor& rows, const at::Tensor& cols) {
                if (change) keep(l, rows, cols);
                else info.params_after += linear_params(w, l);
            };
            keep_or_count(b.q, heads, q_rows, {});
            keep_or_count(b.k, heads, kv_rows, {});
            keep_or_count(b.v, heads, kv_rows, {});
            keep_or_count(b.o, heads, {}, q_rows);
            for (const std::string& u : b.up) keep_or_count(u, mlp, ch, {});
            keep_or_count(b.down, mlp, {}, ch);
        }
        result.towers.push_back(info);
    }
    for (auto& [name, t] : shrunk) w.set(name, t);
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

nlohmann::json WidthResult::to_json() const {
    nlohmann::json towers_json = nlohmann::json::array();
    for (const WidthTower& t : towers)
        towers_json.push_back({{"tower", t.tower},
                               {"modality", t.modality},
                               {"config_key", t.config_key},
                               {"ratio", t.ratio},
                               {"heads", {{"before", t.heads_before}, {"after", t.heads_after}}},
                               {"kv_heads", {{"before", t.kv_heads_before}, {"after", t.kv_heads_after}}},
                               {"head_dim", t.head_dim},
                               {"channels", {{"before", t.channels_before}, {"after", t.channels_after}}},
                               {"params", {{"before", t.params_before}, {"after", t.params_after}}},
                               {"removed_groups", t.removed_groups},
                               {"removed_channels", t.removed_channels},
                               {"note", t.note}});
    return {{"method", "width"}, {"score", score}, {"seconds", seconds}, {"towers", towers_json}};
}

std::string WidthResult::to_text() const {
    std::string s;
    char buf[256];
    std::snprintf(buf, sizeof buf, "width (%s scores) in %.1f s\n", score.c_str(), seconds);
    s += buf;
    for (const WidthTower& t : towers) {
        std::snprintf(buf, sizeof buf,
                      "  %-9s heads %lld -> %lld, MLP channels %lld -> %lld, block parameters %lld -> %lld (%.1f%% removed)\n",
                      t.tower.c_str(), static_cast<long long>(t.heads_before), static_cast<long long>(t.heads_after),
                      static_cast<long long>(t.channels_before), static_cast<long long>(t.channels_after),
                      static_cast<long long>(t.params_before), static_cast<long long>(t.params_after),
                      t.params_before ? 100.0 * static_cast<double>(t.params_before - t.params_after) / static_cast<double>(t.params_before)
                                      : 0.0);
        s += buf;
        if (!t.note.empty()) s += "            " + t.note + "\n";
    }
    return s;
}

void write_width_pruned_checkpoint(const Vlm& model, const nlohmann::json& plan, const WidthResult& result, const std::string& dir) {
    const WeightStore& w = model.weights();
    const Checkpoint& ckpt = w.checkpoint();
    nlohmann::json config = ckpt.config();
    for (const WidthTower& t : result.towers) {
        nlohmann::json& sub = tower_config(config, t.config_key, ckpt.config_path());
        sub[t.width_key] = t.channels_after;
        if (t.head_dim > 0) {
            sub["num_attention_heads"] = t.heads_after;
            sub["num_key_value_heads"] = t.kv_heads_after;
            sub["head_dim"] = t.head_dim;
        }
    }
    NamedTensors tensors;
    for (const std::string& name : ckpt.names())
        tensors.emplace_back(name, w.overridden(name) ? w.get(name).to(at::kCPU, to_scalar_type(ckpt.at(name).info->dtype))
                                                      : tensor_view(ckpt, name));
    AtomicDir out(dir);
    // masks.safetensors (a .safetensors file, so never copied) and result.json of a sparse source no
    // longer fit the shrunk tensors.
    copy_checkpoint_side_files(ckpt.dir(), out.path(), {"config.json", "plan.json", "result.json", "width.json"});
    write_file_atomic(out.path() + "/config.json", config.dump(2) + "\n");
    save_safetensors(out.path() + "/model.safetensors", tensors, {{"format", "pt"}});
    write_file_atomic(out.path() + "/plan.json", plan.dump(2) + "\n");
    write_file_atomic(out.path() + "/width.json", result.to_json().dump(2) + "\n");
    out.commit();
}

PruneMethod width_method() {
    const StructuredOptions d;
    PruneMethod m;
    m.id = "width";
    m.display = "Width (LLM-Pruner-style)";
    m.description = "attention groups and MLP channels removed per block by Taylor or activation scores";
    m.section = "structured";
    m.options = {MethodOption::text("score", d.score, {"taylor", "activation"},
                                    "taylor: |W·∂L/∂W| per group; activation: the group's output norm"),
                 MethodOption::boolean("heads", d.heads, "remove attention heads (GQA groups) where the family allows it"),
                 MethodOption::boolean("channels", d.channels, "remove MLP channels")};
    m.remove = [](const StructuralRun& run) {
        const WidthResult result = prune_width(run.model, run.options, run.calibration, run.job);
        write_width_pruned_checkpoint(run.model, run.plan, result, run.out_dir);
        return StructuralOutcome{result.to_json(), result.to_text()};
    };
    return m;
}

}  // namespace ps
