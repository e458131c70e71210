#include "core/eval/vqa_accuracy.h"

#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "core/error.h"

namespace ps {
namespace {

// vqaEval.py's punctuation marks as the body of a character class (the period is handled apart).
#define PS_VQA_PUNCT R"(\\;/"`\[\](){}<>@=+_\-,?!)"

std::unique_ptr<icu::RegexPattern> compile(const char* pattern) {
    UErrorCode status = U_ZERO_ERROR;
    UParseError parse;
    std::unique_ptr<icu::RegexPattern> p(icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(pattern), parse, status));
    if (U_FAILURE(status)) throw Error("vqa accuracy", std::string("bad pattern ") + pattern);
    return p;
}

// processPunctuation's patterns, in the order it applies them.
struct Patterns {
    std::unique_ptr<icu::RegexPattern> leading = compile(R"(\A([ )" PS_VQA_PUNCT R"(]+)(?=[a-zA-Z0-9 ]))");
    std::unique_ptr<icu::RegexPattern> trailing = compile(R"((?<=[a-zA-Z0-9 ])([ )" PS_VQA_PUNCT R"(]+)\z)");
    std::unique_ptr<icu::RegexPattern> digit_commas = compile(R"((?<=\d)(,)+(?=\d))");
    std::unique_ptr<icu::RegexPattern> next_to_punct =
        compile(R"((?<=[ )" PS_VQA_PUNCT R"(])([)" PS_VQA_PUNCT R"(])|([)" PS_VQA_PUNCT R"(])(?=[ )" PS_VQA_PUNCT R"(]))");
    std::unique_ptr<icu::RegexPattern> spaces = compile("( +)");
    std::unique_ptr<icu::RegexPattern> between_letters = compile(R"((?<=[a-zA-Z])([)" PS_VQA_PUNCT R"(])(?=[a-zA-Z]))");
    std::unique_ptr<icu::RegexPattern> period = compile(R"(\.(?!\d))");
};

#undef PS_VQA_PUNCT

// Every match of `pattern` in `text` (the first `limit` of them when limit >= 0), found in the text
// as it was, replaced by `with`: Python's re.sub for patterns that never match empty.
icu::UnicodeString substitute(const icu::RegexPattern& pattern, const icu::UnicodeString& text, const char* with,
                              int limit = -1) {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> m(pattern.matcher(text, status));
    const icu::UnicodeString replacement = icu::UnicodeString::fromUTF8(with);
    icu::UnicodeString out;
    for (int n = 0; U_SUCCESS(status) && (limit < 0 || n < limit) && m->find(status); ++n) m->appendReplacement(out, replacement, status);
    m->appendTail(out);
    if (U_FAILURE(status)) throw Error("vqa accuracy", "pattern substitution failed");
    return out;
}

icu::UnicodeString process_punctuation(const icu::UnicodeString& text) {
    static const Patterns p;
    icu::UnicodeString out = substitute(*p.leading, text, "");
    out = substitute(*p.trailing, out, "");
    out = substitute(*p.digit_commas, out, "");
    out = substitute(*p.next_to_punct, out, " ");
    out = substitute(*p.spaces, out, " ");
    out = substitute(*p.between_letters, out, " ");  // the server runs it twice; the second finds nothing
    return substitute(*p.period, out, "", 32);        // re.UNICODE (32) lands in re.sub's count
}

// Python's str.split(): the runs of characters between whitespace.
std::vector<icu::UnicodeString> split_words(const icu::UnicodeString& text) {
    std::vector<icu::UnicodeString> words;
    int32_t start = -1;
    for (int32_t i = 0; i < text.length();) {
        const UChar32 c = text.char32At(i);
        const int32_t next = text.moveIndex32(i, 1);
        if (u_isspace(c)) {
            if (start >= 0) words.emplace_back(text, start, i - start);
            start = -1;
        } else if (start < 0) {
            start = i;
        }
        i = next;
    }
    if (start >= 0) words.emplace_back(text, start);
    return words;
}

std::string process_digit_article(icu::UnicodeString text) {
    static const std::map<std::string, std::string> numbers = {
        {"none", "0"}, {"zero", "0"}, {"one", "1"}, {"two", "2"}, {"three", "3"}, {"four", "4"},
        {"five", "5"}, {"six", "6"}, {"seven", "7"}, {"eight", "8"}, {"nine", "9"}, {"ten", "10"}};
    static const std::set<std::string> articles = {"a", "an", "the"};
    // The server's contraction table: a word written without its apostrophes gets them back.
    static const std::map<std::string, std::string> contractions = {
        {"aint", "ain't"}, {"arent", "aren't"}, {"cant", "can't"}, {"couldve", "could've"}, {"couldnt", "couldn't"},
        {"couldn'tve", "couldn't've"}, {"couldnt've", "couldn't've"}, {"didnt", "didn't"}, {"doesnt", "doesn't"},
        {"dont", "don't"}, {"hadnt", "hadn't"}, {"hadnt've", "hadn't've"}, {"hadn'tve", "hadn't've"}, {"hasnt", "hasn't"},
        {"havent", "haven't"}, {"hed", "he'd"}, {"hed've", "he'd've"}, {"he'dve", "he'd've"}, {"hes", "he's"},
        {"howd", "how'd"}, {"howll", "how'll"}, {"hows", "how's"}, {"Id've", "I'd've"}, {"I'dve", "I'd've"},
        {"Im", "I'm"}, {"Ive", "I've"}, {"isnt", "isn't"}, {"itd", "it'd"}, {"itd've", "it'd've"}, {"it'dve", "it'd've"},
        {"itll", "it'll"}, {"let's", "let's"}, {"maam", "ma'am"}, {"mightnt", "mightn't"}, {"mightnt've", "mightn't've"},
        {"mightn'tve", "mightn't've"}, {"mightve", "might've"}, {"mustnt", "mustn't"}, {"mustve", "must've"},
        {"neednt", "needn't"}, {"notve", "not've"}, {"oclock", "o'clock"}, {"oughtnt", "oughtn't"},
        {"ow's'at", "'ow's'at"}, {"'ows'at", "'ow's'at"}, {"'ow'sat", "'ow's'at"}, {"shant", "shan't"},
        {"shed've", "she'd've"}, {"she'dve", "she'd've"}, {"she's", "she's"}, {"shouldve", "should've"},
        {"shouldnt", "shouldn't"}, {"shouldnt've", "shouldn't've"}, {"shouldn'tve", "shouldn't've"},
        {"somebody'd", "somebodyd"}, {"somebodyd've", "somebody'd've"}, {"somebody'dve", "somebody'd've"},
        {"somebodyll", "somebody'll"}, {"somebodys", "somebody's"}, {"someoned", "someone'd"},
        {"someoned've", "someone'd've"}, {"someone'dve", "someone'd've"}, {"someonell", "someone'll"},
        {"someones", "someone's"}, {"somethingd", "something'd"}, {"somethingd've", "something'd've"},
        {"something'dve", "something'd've"}, {"somethingll", "something'll"}, {"thats", "that's"},
        {"thered", "there'd"}, {"thered've", "there'd've"}, {"there'dve", "there'd've"}, {"therere", "there're"},
        {"theres", "there's"}, {"theyd", "they'd"}, {"theyd've", "they'd've"}, {"they'dve", "they'd've"},
        {"theyll", "they'll"}, {"theyre", "they're"}, {"theyve", "they've"}, {"twas", "'twas"}, {"wasnt", "wasn't"},
        {"wed've", "we'd've"}, {"we'dve", "we'd've"}, {"weve", "we've"}, {"werent", "weren't"}, {"whatll", "what'll"},
        {"whatre", "what're"}, {"whats", "what's"}, {"whatve", "what've"}, {"whens", "when's"}, {"whered", "where'd"},
        {"wheres", "where's"}, {"whereve", "where've"}, {"whod", "who'd"}, {"whod've", "who'd've"},
        {"who'dve", "who'd've"}, {"wholl", "who'll"}, {"whos", "who's"}, {"whove", "who've"}, {"whyll", "why'll"},
        {"whyre", "why're"}, {"whys", "why's"}, {"wont", "won't"}, {"wouldve", "would've"}, {"wouldnt", "wouldn't"},
        {"wouldnt've", "wouldn't've"}, {"wouldn'tve", "wouldn't've"}, {"yall", "y'all"}, {"yall'll", "y'all'll"},
        {"y'allll", "y'all'll"}, {"yall'd've", "y'all'd've"}, {"y'alld've", "y'all'd've"}, {"y'all'dve", "y'all'd've"},
        {"youd", "you'd"}, {"youd've", "you'd've"}, {"you'dve", "you'd've"}, {"youll", "you'll"}, {"youre", "you're"},
        {"youve", "you've"}};
    std::string out;
    for (const icu::UnicodeString& w : split_words(text.toLower())) {
        std::string word;
        w.toUTF8String(word);
        if (const auto n = numbers.find(word); n != numbers.end()) word = n->second;
        if (articles.count(word)) continue;
        if (const auto c = contractions.find(word); c != contractions.end()) word = c->second;
        out += (out.empty() ? "" : " ") + word;
    }
    return out;
}

// Line breaks and tabs as spaces, then whitespace trimmed at both ends (str.strip()).
icu::UnicodeString cleaned(const std::string& answer) {
    icu::UnicodeString s = icu::UnicodeString::fromUTF8(answer);
    s.findAndReplace("\n", " ").findAndReplace("\t", " ");
    int32_t begin = 0, end = s.length();
    while (begin < end && u_isspace(s.char32At(begin))) begin = s.moveIndex32(begin, 1);
    while (end > begin && u_isspace(s.char32At(s.moveIndex32(end, -1)))) end = s.moveIndex32(end, -1);
    return icu::UnicodeString(s, begin, end - begin);
}

}  // namespace

std::string vqa_normalize_answer(const std::string& answer) {
    return process_digit_article(process_punctuation(cleaned(answer)));
}

double vqa_accuracy(const std::string& answer, const std::vector<std::string>& human_answers) {
    if (human_answers.empty()) return 0.0;
    const icu::UnicodeString given = icu::UnicodeString::fromUTF8(vqa_normalize_answer(answer));
    std::vector<icu::UnicodeString> humans;
    for (const std::string& h : human_answers) humans.push_back(icu::UnicodeString::fromUTF8(h));
    if (std::set<std::string>(human_answers.begin(), human_answers.end()).size() > 1)
        for (icu::UnicodeString& h : humans) h = process_punctuation(h);
    double total = 0.0;
    for (size_t out = 0; out < humans.size(); ++out) {
        int matches = 0;
        for (size_t i = 0; i < humans.size(); ++i) matches += i != out && humans[i] == given;
        total += std::min(1.0, matches / 3.0);
    }
    return total / static_cast<double>(humans.size());
}

bool vqa_exact_match(const std::string& answer, const std::string& reference) {
    return vqa_normalize_answer(answer) == vqa_normalize_answer(reference);
}

}  // namespace ps
