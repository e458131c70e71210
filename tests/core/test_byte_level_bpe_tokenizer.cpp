// core/io/byte_level_bpe_tokenizer.cpp against transformers' fast tokenizers (tests/python/
// tokenizer_reference.py): SmolLM2's real vocabulary from tokenizer.json and straight from its GGUF
// file, trained vocabularies with Qwen2's and LLaMA-3's split patterns and in Gemma's layout
// (characters with byte fallback, spaces as "▁"); the ChatML prompt built in code against
// apply_chat_template; the tokenizer.json we write read back by transformers.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/core/mat.hpp>

#include "core/io/atomic_file.h"
#include "core/io/byte_level_bpe_tokenizer.h"
#include "core/io/chat_template.h"
#include "core/model/processor.h"
#include "tests/core/tokenizer_parity.h"

class TestByteLevelBpeTokenizer : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    std::map<std::string, nlohmann::json> ref_;

    static std::string dir(const nlohmann::json& ref) { return ref.at("dir").get<std::string>(); }

private Q_SLOTS:
    void initTestCase() {
        for (const char* kind : {"smollm2", "qwen2", "llama3", "gemma"}) {
            ref_[kind] = tokenizer_parity::make_reference(tmp_.path(), kind);
            QVERIFY2(!ref_[kind].is_null(), kind);
        }
    }

    void matches_transformers_data() {
        QTest::addColumn<QString>("kind");
        for (const char* kind : {"smollm2", "qwen2", "llama3", "gemma"}) QTest::newRow(kind) << kind;
    }
    void matches_transformers() {
        QFETCH(QString, kind);
        const nlohmann::json& ref = ref_.at(kind.toStdString());
        const auto tok = ps::load_tokenizer(dir(ref));
        QVERIFY(dynamic_cast<const ps::ByteLevelBpeTokenizer*>(tok.get()));
        tokenizer_parity::compare_all(*tok, ref);
        tokenizer_parity::compare_special_ids(*tok, ref);
    }

    // The GGUF file's tokenizer.ggml.* metadata gives the same tokenizer as SmolLM2's tokenizer.json.
    void reads_the_gguf_file() {
        const nlohmann::json& ref = ref_.at("smollm2");
        const auto tok = ps::load_tokenizer(PS_SMOLLM2_GGUF);
        tokenizer_parity::compare_all(*tok, ref);
        tokenizer_parity::compare_special_ids(*tok, ref);
    }

    // SmolLM2's chat template, built in code, tokenized as apply_chat_template does it — from the
    // GGUF file through the model's processor, and from the tokenizer folder.
    void chatml_prompt() {
        const nlohmann::json& ref = ref_.at("smollm2");
        const std::string jinja = ps::read_chat_template(dir(ref));
        QCOMPARE(QString::fromStdString(ps::read_chat_template(PS_SMOLLM2_GGUF)), QString::fromStdString(jinja));
        const auto prompt = ps::chat_prompt_template(jinja);
        QVERIFY(prompt);
        QCOMPARE(QString::fromStdString(*prompt),
                 QString("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                         "<|im_start|>user\n{image}\n{question}<|im_end|>\n<|im_start|>assistant\n"));
        const auto model = ps::Vlm::load(PS_SMOLLM2_GGUF);
        const ps::Processor processor(*model);
        QCOMPARE(ref.at("chat").size(), size_t(4));
        for (const auto& c : ref.at("chat")) {
            const auto ids = processor.chat(cv::Mat(), c.at("question").get<std::string>()).input_ids[0];
            const auto expect = c.at("ids").get<std::vector<int64_t>>();
            QCOMPARE(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel()), expect);
        }
        QVERIFY(!ps::chat_prompt_template("{{ 'USER: ' + message['content'] }}"));
        // A ChatML template without a literal default system message starts at the user turn.
        QCOMPARE(QString::fromStdString(*ps::chat_prompt_template("{{'<|im_start|>system\\n' + message['content'] + '<|im_end|>'}}")),
                 QString("<|im_start|>user\n{image}\n{question}<|im_end|>\n<|im_start|>assistant\n"));
        // Mistral's instruction format (its prompts' ids are checked against transformers in test_llava_next).
        QCOMPARE(QString::fromStdString(*ps::chat_prompt_template("{{ '[INST] ' + message['content'] + ' [/INST]' }}")),
                 QString("[INST] {image}\n{question} [/INST]"));
        // Idefics3's and SmolVLM's User/Assistant format, after the text its template opens with (its
        // prompts' ids are checked against transformers in test_idefics3); ChatML's marker does not
        // make it ChatML.
        const std::string idefics = "{% for message in messages %}{{message['role'] | capitalize}}{{':'}}{{ '<image>' }}"
                                    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";
        QCOMPARE(QString::fromStdString(*ps::chat_prompt_template("<|im_start|>" + idefics)),
                 QString("<|im_start|>User:{image| }{question}<end_of_utterance>\nAssistant:"));
        QCOMPARE(QString::fromStdString(*ps::chat_prompt_template("<|begin_of_text|>" + idefics)),
                 QString("<|begin_of_text|>User:{image| }{question}<end_of_utterance>\nAssistant:"));
        // Gemma's turns (its prompts' ids are checked against transformers in test_gemma3).
        QCOMPARE(QString::fromStdString(*ps::chat_prompt_template("{{ bos_token }}<start_of_turn>{{ message['role'] }}\n")),
                 QString("<start_of_turn>user\n{image}{question}<end_of_turn>\n<start_of_turn>model\n"));
    }

    // What to_json() writes, transformers reads as the same tokenizer.
    void written_tokenizer_reloads_in_transformers() {
        const nlohmann::json& ref = ref_.at("smollm2");
        const auto tok = ps::load_tokenizer(PS_SMOLLM2_GGUF);
        const QString out = tmp_.filePath("written");
        QVERIFY(QDir().mkpath(out));
        ps::write_file_atomic((out + "/tokenizer.json").toStdString(),
                              dynamic_cast<const ps::ByteLevelBpeTokenizer&>(*tok).to_json().dump());
        QFile::copy(QString::fromStdString(dir(ref)) + "/tokenizer_config.json", out + "/tokenizer_config.json");
        QFile::copy(QString::fromStdString(dir(ref)) + "/special_tokens_map.json", out + "/special_tokens_map.json");
        const auto r = ps_test::run_python("tokenizer_reference.py", {tmp_.filePath("reread"), "folder:" + out});
        QVERIFY2(r.exit_code == 0, r.err.constData());
        nlohmann::json again = nlohmann::json::parse(ps_test::read_bytes(tmp_.filePath("reread") + "/folder.json").toStdString());
        QCOMPARE(again.at("cases").size(), ref.at("cases").size());
        for (size_t i = 0; i < again.at("cases").size(); ++i)
            QVERIFY2(again["cases"][i].at("ids") == ref["cases"][i].at("ids"),
                     qPrintable(tokenizer_parity::describe(i, ref["cases"][i].at("text").get<std::string>())));
    }

    void bad_files() {
        const QString d = tmp_.filePath("bad");
        QVERIFY(QDir().mkpath(d));
        auto write = [&](const nlohmann::json& j) { ps_test::write_bytes(d + "/tokenizer.json", QByteArray::fromStdString(j.dump())); };
        nlohmann::json j = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}}, {"merges", {"a b", "a c"}}}},
                            {"pre_tokenizer", {{"type", "ByteLevel"}}}};
        write(j);
        const std::string path = (d + "/tokenizer.json").toStdString();
        QCOMPARE(ps_test::error_of([&] { ps::load_tokenizer(d.toStdString()); }),
                 QString::fromStdString(path + ": model.merges[1] \"a c\" names a token missing from the vocabulary"));
        j["model"]["merges"] = {"a b"};
        j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Metaspace"}}, {{"type", "ByteLevel"}}}}};
        write(j);
        QCOMPARE(ps_test::error_of([&] { ps::load_tokenizer(d.toStdString()); }),
                 QString::fromStdString(path + ": \"pre_tokenizer\" of type Metaspace is not supported (ByteLevel, Split and Digits are)"));
        j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
        j["decoder"] = {{"type", "ByteLevel"}};
        write(j);
        QCOMPARE(ps_test::error_of([&] { ps::load_tokenizer(d.toStdString()); }),
                 QString::fromStdString(path + ": split pattern \"(unclosed\" is not a regex this tokenizer reads"));
    }
};

QTEST_GUILESS_MAIN(TestByteLevelBpeTokenizer)
#include "test_byte_level_bpe_tokenizer.moc"
