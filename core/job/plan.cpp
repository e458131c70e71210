#include "core/job/plan.h"

#include <cmath>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/json_util.h"
#include "core/prune/pattern.h"
#include "core/prune/registry.h"

namespace ps {
namespace {

// Reads fields of one JSON object, naming "<source>: <path>" in every error.
class Fields {
public:
    Fields(const nlohmann::json& j, std::string source, std::string path) : j_(j), source_(std::move(source)), path_(std::move(path)) {
        if (!j.is_object()) fail(path_.empty() ? "a Plan must be a JSON object" : "must be an object");
    }
    [[noreturn]] void fail(const std::string& what, const std::string& key = "") const {
        const std::string p = path_.empty() ? key : key.empty() ? path_ : path_ + "." + key;
        throw Error(source_, p.empty() ? what : p + ": " + what);
    }
    void only(const std::set<std::string>& keys) const {
        for (auto it = j_.begin(); it != j_.end(); ++it)
            if (!keys.count(it.key())) fail("unknown field", it.key());
    }
    const nlohmann::json* find(const std::string& key) const {
        auto it = j_.find(key);
        return it == j_.end() ? nullptr : &*it;
    }
    std::string text(const std::string& key, const std::string& fallback, bool required = false) const {
        const auto* v = find(key);
        if (!v) {
            if (required) fail("missing", key);
            return fallback;
        }
        if (!v->is_string()) fail("must be a string", key);
        return v->get<std::string>();
    }
    double number(const std::string& key, double fallback) const {
        const auto* v = find(key);
        if (!v) return fallback;
        if (!v->is_number()) fail("must be a number", key);
        return v->get<double>();
    }
    int64_t integer(const std::string& key, int64_t fallback, int64_t min) const {
        const auto* v = find(key);
        if (!v) return fallback;
        if (!v->is_number_integer()) fail("must be an integer", key);
        const int64_t x = v->get<int64_t>();
        if (x < min) fail(std::to_string(x) + " is below " + std::to_string(min), key);
        return x;
    }
    bool boolean(const std::string& key, bool fallback) const {
        const auto* v = find(key);
        if (!v) return fallback;
        if (!v->is_boolean()) fail("must be true or false", key);
        return v->get<bool>();
    }
    std::vector<std::string> regexes(const std::string& key, std::vector<std::string> fallback) const {
        const auto* v = find(key);
        if (!v) return fallback;
        if (!v->is_array()) fail("must be a list of regular expressions", key);
        std::vector<std::string> out;
        for (const auto& e : *v) {
            if (!e.is_string()) fail("must be a list of regular expressions", key);
            try {
                std::regex re(e.get<std::string>());
            } catch (const std::regex_error&) {
                fail("\"" + e.get<std::string>() + "\" is not a valid regular expression", key);
            }
            out.push_back(e.get<std::string>());
        }
        return out;
    }
    void sparsity(const std::string& key, double s) const {
        if (!(s >= 0.0 && s < 1.0)) fail(std::to_string(s) + " is outside [0, 1)", key);
    }
    Fields sub(const std::string& key) const { return Fields(*find(key), source_, path_.empty() ? key : path_ + "." + key); }

private:
    const nlohmann::json& j_;
    std::string source_, path_;
};

const std::set<std::string> kModalities = {"vision", "projector", "language"};

}  // namespace

Plan Plan::from_json(const nlohmann::json& j, const std::string& source) {
    const Fields f(j, source, "");
    f.only({"name", "model", "device", "dtype", "streaming", "seed", "calibration", "method", "pattern", "sparsity", "compare",
            "allocation", "targets", "ignore", "overrides", "sparsegpt", "structured", "recovery", "tokens", "joint"});
    Plan p;
    p.name = f.text("name", "");
    p.model = f.text("model", "");  // presets leave it to the user
    p.device = f.text("device", p.device);
    p.dtype = f.text("dtype", p.dtype);
    if (p.dtype != "float32" && p.dtype != "bfloat16" && p.dtype != "float16")
        f.fail("\"" + p.dtype + "\" is not float32, bfloat16 or float16", "dtype");
    p.streaming = f.boolean("streaming", p.streaming);
    p.seed = static_cast<uint64_t>(f.integer("seed", 0, 0));
    if (f.find("calibration")) {
        const Fields c = f.sub("calibration");
        c.only({"data", "samples", "batch_size"});
        p.calibration.data = c.text("data", p.calibration.data);
        p.calibration.samples = c.integer("samples", p.calibration.samples, 1);
        p.calibration.batch_size = c.integer("batch_size", p.calibration.batch_size, 1);
    }
    p.method = f.text("method", p.method);
    const bool structured = p.removes_structures();
    p.pattern = f.text("pattern", structured ? "structured" : p.pattern);
    if (structured != (p.pattern == "structured"))
        f.fail(structured ? "method " + p.method + " removes whole structures; the pattern must be \"structured\""
                          : "\"structured\" is the pattern of methods width, depth and comp", "pattern");
    if (!structured) {
        if (!find_method(p.method)) f.fail("\"" + p.method + "\" is not a registered method (" + method_ids() + ", width, depth, comp)", "method");
        SparsityPattern::parse(p.pattern, source.empty() ? "pattern" : source + ": pattern");
    }
    p.sparsity = f.number("sparsity", p.sparsity);
    f.sparsity("sparsity", p.sparsity);
    p.compare = f.text("compare", p.compare);
    if (p.compare != "auto" && p.compare != "row" && p.compare != "matrix")
        f.fail("\"" + p.compare + "\" is not auto, row or matrix", "compare");
    if (f.find("allocation")) {
        const Fields a = f.sub("allocation");
        a.only({"kind", "vision", "projector", "language", "epsilon", "extra", "owl_m", "owl_lambda", "sensitivity",
                "sensitivity_lambda"});
        p.allocation.kind = a.text("kind", p.allocation.kind);
        if (!find_allocator(p.allocation.kind))
            a.fail("\"" + p.allocation.kind + "\" is not a registered allocation (" + allocator_ids() + ")", "kind");
        p.allocation.epsilon = a.number("epsilon", p.allocation.epsilon);
        if (!(p.allocation.epsilon > 0 && p.allocation.epsilon < 1)) a.fail("must be in (0, 1)", "epsilon");
        p.allocation.extra = a.number("extra", p.allocation.extra);
        if (!(p.allocation.extra >= 0 && p.allocation.extra < 1)) a.fail("must be in [0, 1)", "extra");
        p.allocation.owl_m = a.number("owl_m", p.allocation.owl_m);
        if (!(p.allocation.owl_m > 0 && std::isfinite(p.allocation.owl_m))) a.fail("must be a positive number", "owl_m");
        p.allocation.owl_lambda = a.number("owl_lambda", p.allocation.owl_lambda);
        if (!(p.allocation.owl_lambda >= 0 && p.allocation.owl_lambda < 1)) a.fail("must be in [0, 1)", "owl_lambda");
        p.allocation.sensitivity = a.text("sensitivity", p.allocation.sensitivity);
        if (p.allocation.kind == "sensitivity" && p.allocation.sensitivity.empty())
            a.fail("names no sensitivity sweep (DIR/sweep.json of prunestudio-cli sweep --sensitivity)", "sensitivity");
        p.allocation.sensitivity_lambda = a.number("sensitivity_lambda", p.allocation.sensitivity_lambda);
        if (!(p.allocation.sensitivity_lambda >= 0 && p.allocation.sensitivity_lambda < 1))
            a.fail("must be in [0, 1)", "sensitivity_lambda");
        for (const auto& m : kModalities)
            if (a.find(m)) {
                const double s = a.number(m, 0.0);
                a.sparsity(m, s);
                p.allocation.modality[m] = s;
            }
        if (p.allocation.kind != "modality" && !p.allocation.modality.empty())
            a.fail("per-modality sparsities need \"kind\": \"modality\"");
    }
    p.targets = f.regexes("targets", p.targets);
    p.ignore = f.regexes("ignore", p.ignore);
    if (f.find("overrides")) {
        const Fields o = f.sub("overrides");
        for (const auto& [name, v] : f.find("overrides")->items()) {
            if (!v.is_number()) o.fail("must be a number", name);
            o.sparsity(name, v.get<double>());
            p.overrides[name] = v.get<double>();
        }
    }
    if (f.find("sparsegpt")) {
        const Fields g = f.sub("sparsegpt");
        g.only({"blocksize", "percdamp"});
        p.sparsegpt_blocksize = g.integer("blocksize", p.sparsegpt_blocksize, 1);
        p.sparsegpt_percdamp = g.number("percdamp", p.sparsegpt_percdamp);
        if (!(p.sparsegpt_percdamp > 0 && p.sparsegpt_percdamp < 1)) g.fail("must be in (0, 1)", "percdamp");
    }
    if (f.find("structured")) {
        const Fields s = f.sub("structured");
        s.only({"score", "heads", "channels"});
        p.structured.score = s.text("score", p.structured.score);
        if (p.structured.score != "taylor" && p.structured.score != "activation")
            s.fail("\"" + p.structured.score + "\" is not taylor or activation", "score");
        p.structured.heads = s.boolean("heads", p.structured.heads);
        p.structured.channels = s.boolean("channels", p.structured.channels);
    }
    if (f.find("recovery")) {
        const Fields r = f.sub("recovery");
        r.only({"pruned", "mode", "rank", "alpha", "dropout", "task", "kl", "temperature", "t2", "hidden", "hidden_layers",
                "data_fraction", "epochs", "batch_size", "grad_accum", "max_steps", "lr", "min_lr", "weight_decay", "warmup",
                "eval_every", "eval_samples", "checkpoint_every"});
        Recovery& v = p.recovery;
        v.pruned = r.text("pruned", v.pruned);
        v.mode = r.text("mode", v.mode);
        if (v.mode != "sparselora" && v.mode != "lora" && v.mode != "full" && v.mode != "projector")
            r.fail("\"" + v.mode + "\" is not sparselora, lora, full or projector", "mode");
        if (r.find("rank")) {
            const Fields k = r.sub("rank");
            k.only(kModalities);
            for (const auto& m : kModalities)
                if (k.find(m)) v.rank[m] = k.integer(m, 0, 0);
        }
        auto positive = [&](const std::string& key, double x) {
            if (!(x > 0 && std::isfinite(x))) r.fail("must be a positive number", key);
            return x;
        };
        auto weight = [&](const std::string& key, double x) {
            if (!(x >= 0 && std::isfinite(x))) r.fail("must be a number >= 0", key);
            return x;
        };
        v.alpha = positive("alpha", r.number("alpha", v.alpha));
        v.dropout = r.number("dropout", v.dropout);
        if (!(v.dropout >= 0 && v.dropout < 1)) r.fail("must be in [0, 1)", "dropout");
        v.task = weight("task", r.number("task", v.task));
        v.kl = weight("kl", r.number("kl", v.kl));
        v.temperature = positive("temperature", r.number("temperature", v.temperature));
        v.t2 = r.boolean("t2", v.t2);
        v.hidden = weight("hidden", r.number("hidden", v.hidden));
        if (v.task + v.kl + v.hidden <= 0) r.fail("task, kl and hidden weights are all zero: nothing to train on");
        if (const auto* h = r.find("hidden_layers")) {
            if (!h->is_array()) r.fail("must be a list of \"<tower>.<block>\"", "hidden_layers");
            v.hidden_layers.clear();
            for (const auto& e : *h) {
                if (!e.is_string() || !std::regex_match(e.get<std::string>(), std::regex("[a-z]+\\.[0-9]+")))
                    r.fail("must be a list of \"<tower>.<block>\", e.g. \"vision.3\"", "hidden_layers");
                v.hidden_layers.push_back(e.get<std::string>());
            }
        }
        v.data_fraction = r.number("data_fraction", v.data_fraction);
        if (!(v.data_fraction > 0 && v.data_fraction <= 1)) r.fail("must be in (0, 1]", "data_fraction");
        v.epochs = r.integer("epochs", v.epochs, 1);
        v.batch_size = r.integer("batch_size", v.batch_size, 1);
        v.grad_accum = r.integer("grad_accum", v.grad_accum, 1);
        v.max_steps = r.integer("max_steps", v.max_steps, -1);
        v.lr = positive("lr", r.number("lr", v.lr));
        v.min_lr = weight("min_lr", r.number("min_lr", v.min_lr));
        v.weight_decay = weight("weight_decay", r.number("weight_decay", v.weight_decay));
        v.warmup = r.integer("warmup", v.warmup, 0);
        v.eval_every = r.integer("eval_every", v.eval_every, 0);
        v.eval_samples = r.integer("eval_samples", v.eval_samples, 1);
        v.checkpoint_every = r.integer("checkpoint_every", v.checkpoint_every, 1);
    }
    if (f.find("tokens")) {
        const Fields t = f.sub("tokens");
        t.only({"metric", "vision", "language_after", "language_keep"});
        Tokens& v = p.tokens;
        v.metric = t.text("metric", v.metric);
        if (v.metric != "cls" && v.metric != "received" && v.metric != "text" && v.metric != "cim")
            t.fail("\"" + v.metric + "\" is not cls, received, text or cim", "metric");
        auto keep = [&](const Fields& where, const std::string& key, double x) {
            if (!(x > 0 && x <= 1)) where.fail(std::to_string(x) + " is outside (0, 1]", key);
            return x;
        };
        if (t.find("vision")) {
            const Fields vis = t.sub("vision");
            for (const auto& [block, r] : t.find("vision")->items()) {
                if (!std::regex_match(block, std::regex("[0-9]+"))) vis.fail("keys must be vision block numbers", block);
                if (!r.is_number()) vis.fail("must be a keep ratio", block);
                v.vision[std::stoi(block)] = keep(vis, block, r.get<double>());
            }
        }
        v.language_after = static_cast<int>(t.integer("language_after", v.language_after, -1));
        v.language_keep = keep(t, "language_keep", t.number("language_keep", v.language_keep));
    }
    if (f.find("joint")) {
        const Fields g = f.sub("joint");
        g.only({"flops_reduction", "step", "rho", "tau", "lambda0", "i_max", "vision_after", "language_after", "modes"});
        Joint& v = p.joint;
        v.flops_reduction = g.number("flops_reduction", v.flops_reduction);
        if (!(v.flops_reduction > 0 && v.flops_reduction < 1)) g.fail("must be in (0, 1)", "flops_reduction");
        v.step = g.number("step", v.step);
        if (!(v.step > 0 && v.step <= v.flops_reduction)) g.fail("must be in (0, flops_reduction]", "step");
        v.rho = g.number("rho", v.rho);
        if (!(v.rho >= 0 && v.rho <= 1)) g.fail("must be in [0, 1]", "rho");
        v.tau = g.number("tau", v.tau);
        if (!(v.tau > 0 && std::isfinite(v.tau))) g.fail("must be a positive number", "tau");
        v.lambda0 = g.number("lambda0", v.lambda0);
        if (!(v.lambda0 >= 0 && v.lambda0 < 1)) g.fail("must be in [0, 1)", "lambda0");
        v.i_max = g.integer("i_max", v.i_max, 1);
        v.vision_after = static_cast<int>(g.integer("vision_after", v.vision_after, 0));
        v.language_after = static_cast<int>(g.integer("language_after", v.language_after, 0));
        if (const auto* m = g.find("modes")) {
            const std::set<std::string> known(v.modes.begin(), v.modes.end());
            if (!m->is_array() || m->empty()) g.fail("must be a non-empty list of modes", "modes");
            v.modes.clear();
            for (const auto& e : *m) {
                if (!e.is_string() || !known.count(e.get<std::string>()))
                    g.fail("must name vision-params, language-params, vision-tokens or language-tokens", "modes");
                v.modes.push_back(e.get<std::string>());
            }
        }
    }
    return p;
}

bool Plan::Tokens::empty() const {
    for (const auto& [block, keep] : vision)
        if (keep < 1.0) return false;
    return language_after < 0 || language_keep >= 1.0;
}

nlohmann::json Plan::to_json() const {
    nlohmann::json j = {
        {"name", name},
        {"model", model},
        {"device", device},
        {"dtype", dtype},
        {"streaming", streaming},
        {"seed", seed},
        {"calibration", {{"data", calibration.data}, {"samples", calibration.samples}, {"batch_size", calibration.batch_size}}},
        {"method", method},
        {"pattern", pattern},
        {"sparsity", sparsity},
        {"compare", compare},
        {"allocation",
         {{"kind", allocation.kind}, {"epsilon", allocation.epsilon}, {"extra", allocation.extra},
          {"owl_m", allocation.owl_m}, {"owl_lambda", allocation.owl_lambda}, {"sensitivity", allocation.sensitivity},
          {"sensitivity_lambda", allocation.sensitivity_lambda}}},
        {"targets", targets},
        {"ignore", ignore},
        {"overrides", overrides},
        {"sparsegpt", {{"blocksize", sparsegpt_blocksize}, {"percdamp", sparsegpt_percdamp}}},
        {"structured", {{"score", structured.score}, {"heads", structured.heads}, {"channels", structured.channels}}},
    };
    for (const auto& [m, s] : allocation.modality) j["allocation"][m] = s;
    const Recovery& r = recovery;
    j["recovery"] = {{"pruned", r.pruned}, {"mode", r.mode}, {"rank", r.rank}, {"alpha", r.alpha}, {"dropout", r.dropout},
                     {"task", r.task}, {"kl", r.kl}, {"temperature", r.temperature}, {"t2", r.t2}, {"hidden", r.hidden},
                     {"hidden_layers", r.hidden_layers}, {"data_fraction", r.data_fraction}, {"epochs", r.epochs},
                     {"batch_size", r.batch_size}, {"grad_accum", r.grad_accum}, {"max_steps", r.max_steps}, {"lr", r.lr},
                     {"min_lr", r.min_lr}, {"weight_decay", r.weight_decay}, {"warmup", r.warmup},
                     {"eval_every", r.eval_every}, {"eval_samples", r.eval_samples}, {"checkpoint_every", r.checkpoint_every}};
    nlohmann::json vision = nlohmann::json::object();
    for (const auto& [block, keep] : tokens.vision) vision[std::to_string(block)] = keep;
    j["tokens"] = {{"metric", tokens.metric}, {"vision", vision}, {"language_after", tokens.language_after},
                   {"language_keep", tokens.language_keep}};
    j["joint"] = {{"flops_reduction", joint.flops_reduction}, {"step", joint.step}, {"rho", joint.rho}, {"tau", joint.tau},
                  {"lambda0", joint.lambda0}, {"i_max", joint.i_max}, {"vision_after", joint.vision_after},
                  {"language_after", joint.language_after}, {"modes", joint.modes}};
    return j;
}

Plan Plan::load(const std::string& path) { return from_json(read_json_file(path), path); }

void Plan::save(const std::string& path) const { write_file_atomic(path, to_json().dump(2) + "\n"); }

}  // namespace ps
