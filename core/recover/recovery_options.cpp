#include "core/recover/recovery_options.h"

#include <cmath>
#include <regex>

#include "core/io/json_fields.h"

namespace ps {

RecoveryOptions RecoveryOptions::read(const JsonFields& r) {
    r.only({"pruned", "mode", "rank", "alpha", "dropout", "task", "kl", "temperature", "t2", "hidden", "hidden_layers",
            "data_fraction", "epochs", "batch_size", "grad_accum", "max_steps", "lr", "min_lr", "weight_decay", "warmup",
            "eval_every", "eval_samples", "checkpoint_every"});
    RecoveryOptions v;
    v.pruned = r.text("pruned", v.pruned);
    v.mode = r.text("mode", v.mode);
    if (v.mode != "sparselora" && v.mode != "lora" && v.mode != "full" && v.mode != "projector")
        r.fail("\"" + v.mode + "\" is not sparselora, lora, full or projector", "mode");
    if (r.find("rank")) {
        const JsonFields k = r.sub("rank");
        const std::set<std::string> modalities = {"vision", "projector", "language"};
        k.only(modalities);
        for (const auto& m : modalities)
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
    return v;
}

nlohmann::json RecoveryOptions::to_json() const {
    return {{"pruned", pruned}, {"mode", mode}, {"rank", rank}, {"alpha", alpha}, {"dropout", dropout},
            {"task", task}, {"kl", kl}, {"temperature", temperature}, {"t2", t2}, {"hidden", hidden},
            {"hidden_layers", hidden_layers}, {"data_fraction", data_fraction}, {"epochs", epochs},
            {"batch_size", batch_size}, {"grad_accum", grad_accum}, {"max_steps", max_steps}, {"lr", lr},
            {"min_lr", min_lr}, {"weight_decay", weight_decay}, {"warmup", warmup},
            {"eval_every", eval_every}, {"eval_samples", eval_samples}, {"checkpoint_every", checkpoint_every}};
}

}  // namespace ps
