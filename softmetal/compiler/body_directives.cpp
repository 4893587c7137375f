#include "compiler/body_directives.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "compiler/msl_tokenizer.hpp"

namespace softmetal {
namespace detail {

namespace {

// A preprocessor line: from its '#' to the '\n' that ends it (continuation lines included).
struct directive {
    size_t hash = 0, end = 0;  // [hash, end)
    std::string keyword, name; // `define`, and the name it defines (for define/undef)
    size_t name_end = 0;       // just past the name
};

std::vector<directive> directives_of(const std::string &text, const std::vector<token> &toks, size_t base) {
    std::vector<directive> out;
    for (size_t i = 0; i < toks.size(); ++i) {
        if (!toks[i].directive_start) continue;
        directive d;
        d.hash = base + toks[i].offset;
        size_t e = d.hash;
        while (e < text.size() && !(text[e] == '\n' && (e == 0 || text[e - 1] != '\\'))) ++e;
        d.end = e;
        if (i + 1 < toks.size() && toks[i + 1].in_directive && !toks[i + 1].directive_start)
            d.keyword = text.substr(base + toks[i + 1].offset, toks[i + 1].length);
        if (i + 2 < toks.size() && toks[i + 2].in_directive && !toks[i + 2].directive_start &&
            toks[i + 2].kind == token_kind::identifier) {
            d.name = text.substr(base + toks[i + 2].offset, toks[i + 2].length);
            d.name_end = base + toks[i + 2].offset + toks[i + 2].length;
        }
        out.push_back(d);
    }
    return out;
}

void blank(std::string &s, size_t from, size_t to) {
    for (size_t i = from; i < to && i < s.size(); ++i)
        if (s[i] != '\n') s[i] = ' ';
}

// The user line of every line of `text` (-1 for lines under another file name), following `#line`.
std::vector<int> user_lines(const std::string &text, std::vector<size_t> &starts) {
    std::vector<int> lines;
    int line = 1;
    bool user = true;
    for (size_t p = 0; p <= text.size();) {
        size_t e = text.find('\n', p);
        if (e == std::string::npos) e = text.size();
        starts.push_back(p);
        lines.push_back(user ? line : -1);
        ++line;
        if (text.compare(p, 6, "#line ") == 0) {
            size_t q = p + 6;
            int n = 0;
            while (q < e && text[q] >= '0' && text[q] <= '9') n = n * 10 + (text[q++] - '0');
            const size_t a = text.find('"', q), b = a == std::string::npos ? a : text.find('"', a + 1);
            if (a < e && b < e) user = text.compare(a + 1, b - a - 1, "program_source") == 0;
            line = n;
        }
        p = e + 1;
    }
    return lines;
}

} // namespace

std::string resolve_conditionals(const std::string &translated, const std::set<int> &active_lines) {
    if (active_lines.empty() || translated.find('#') == std::string::npos) return translated;
    const std::vector<token> toks = tokenize_msl(translated);
    const std::vector<directive> ds = directives_of(translated, toks, 0);
    // The groups, each as the indices of its directives (if..., elif/else..., endif).
    std::vector<std::vector<size_t>> groups, open;
    for (size_t i = 0; i < ds.size(); ++i) {
        const std::string &k = ds[i].keyword;
        if (k == "if" || k == "ifdef" || k == "ifndef") {
            open.push_back({i});
        } else if (k == "elif" || k == "else" || k == "elifdef" || k == "elifndef") {
            if (open.empty()) return translated;
            open.back().push_back(i);
        } else if (k == "endif") {
            if (open.empty()) return translated;
            open.back().push_back(i);
            groups.push_back(open.back());
            open.pop_back();
        }
    }
    if (!open.empty() || groups.empty()) return translated;
    std::vector<size_t> starts;
    const std::vector<int> lines = user_lines(translated, starts);
    auto line_of = [&](size_t offset) {
        const size_t i = size_t(std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin()) - 1;
        return lines[i];
    };
    // Per arm [from, to): whether a token of it survived preprocessing, whether it has code at all,
    // and whether a directive in it must not simply vanish (#define/#undef: what the arm means is not
    // in its tokens; #line: the rewrite's, whose removal would move every later line).
    struct arm_facts {
        bool active = false, code = false, keeps = false;
    };
    auto facts = [&](size_t from, size_t to) {
        arm_facts f;
        const auto first = std::lower_bound(toks.begin(), toks.end(), from, [](const token &t, size_t o) { return t.offset < o; });
        for (auto t = first; t != toks.end() && t->offset < to; ++t) {
            if (t->in_directive) continue;
            f.code = true;
            const int l = line_of(t->offset);
            if (l > 0 && active_lines.count(l)) f.active = true;
        }
        for (const directive &d : ds)
            if (d.hash >= from && d.hash < to && (d.keyword == "define" || d.keyword == "undef" || d.keyword == "line")) f.keeps = true;
        return f;
    };
    std::string out = translated;
    for (const std::vector<size_t> &g : groups) {
        std::vector<arm_facts> arms;
        int live = -1, lives = 0;
        for (size_t a = 0; a + 1 < g.size(); ++a) {
            arms.push_back(facts(ds[g[a]].end, ds[g[a + 1]].hash));
            if (arms.back().active) live = int(a), ++lives;
        }
        if (lives > 1) continue;
        bool decided = true;
        for (size_t a = 0; a < arms.size(); ++a)
            if (int(a) != live && arms[a].keeps) decided = false; // (an arm that may be the live one, or whose #line must stay)
        if (!decided) continue;
        for (size_t a = 0; a < arms.size(); ++a)
            if (int(a) != live) blank(out, ds[g[a]].end, ds[g[a + 1]].hash);
        for (size_t d : g) blank(out, ds[d].hash, ds[d].end);
    }
    return out;
}

bool body_macro_edits(const std::string &text, size_t body_open, size_t body_close, std::vector<text_edit> &edits, std::string &why) {
    edits.clear();
    const size_t base = body_open + 1;
    const std::string body = text.substr(base, body_close - base);
    if (body.find('#') == std::string::npos) return true;
    const std::vector<token> toks = tokenize_msl(body);
    const std::vector<directive> ds = directives_of(text, toks, base);
    struct definition {
        size_t at = 0, until = std::string::npos; // the #define's '#', the #undef's
        std::string replacement;
        // The replacement's identifiers that name body macros, found once: an expansion visits each
        // node of a chain without allocating (under the sanitizers, every allocation unwinds the stack).
        std::vector<std::pair<token, definition *>> uses;
        bool expanding = false;
    };
    std::map<std::string, definition> defined;
    for (const directive &d : ds) {
        if (d.keyword == "pragma" || d.keyword == "line") continue;
        if (d.keyword != "define" && d.keyword != "undef") return true; // (the splitter refuses the body, saying why)
        if (d.name.empty()) return true;
        if (d.keyword == "undef") {
            auto it = defined.find(d.name);
            if (it != defined.end() && it->second.until == std::string::npos) it->second.until = d.hash;
            continue;
        }
        if (d.name_end < text.size() && text[d.name_end] == '(') {
            why = "the function-like macro '" + d.name + "' defined inside the kernel body";
            return false;
        }
        if (defined.count(d.name)) {
            why = "the macro '" + d.name + "' defined twice inside the kernel body";
            return false;
        }
        std::string r;
        for (size_t i = d.name_end; i < d.end; ++i) {
            if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\n') continue; // a continuation
            r += text[i] == '\n' ? ' ' : text[i];
        }
        defined[d.name] = {d.hash, std::string::npos, r, {}, false};
    }
    if (defined.empty()) return true;
    for (auto &entry : defined)
        for (const token &t : tokenize_msl(entry.second.replacement)) {
            if (t.kind != token_kind::identifier) continue;
            auto it = defined.find(entry.second.replacement.substr(t.offset, t.length));
            if (it != defined.end()) entry.second.uses.push_back({t, &it->second});
        }
    // Appends the text of `def` expanded at `use` to `out` (a macro is not expanded inside its own
    // expansion). Kernel source is untrusted: chains of macros that each name the next twice grow
    // exponentially, so all expansions together stop at expansion_limit bytes of output (the split is
    // then refused, and the kernel runs on fibers from clang's own, limited, preprocessing). Each byte
    // is written once, so the refusal costs time linear in the limit.
    constexpr size_t expansion_limit = size_t(16) << 20;
    size_t expanded = 0;
    std::function<void(definition &, size_t, std::string &)> expand = [&](definition &def, size_t use, std::string &out) {
        def.expanding = true;
        size_t pos = 0;
        auto copy_until = [&](size_t end) {
            const size_t n = std::min(end - pos, expansion_limit + 1 - std::min(expanded, expansion_limit + 1));
            out.append(def.replacement, pos, n);
            expanded += n;
        };
        for (const auto &u : def.uses) {
            if (expanded > expansion_limit) break;
            definition &inner = *u.second;
            if (inner.expanding || !(inner.at < use && use < inner.until)) continue;
            copy_until(u.first.offset);
            out += ' ';
            expand(inner, use, out);
            out += ' ';
            expanded += 2;
            pos = u.first.offset + u.first.length;
        }
        if (expanded <= expansion_limit) copy_until(def.replacement.size());
        def.expanding = false;
    };
    for (const token &t : toks) {
        if (t.kind != token_kind::identifier) continue;
        const std::string w = body.substr(t.offset, t.length);
        auto it = defined.find(w);
        if (it == defined.end()) continue;
        const size_t at = base + t.offset;
        if (t.in_directive) {
            bool own = false; // the name in its own #define/#undef, or in another body macro's replacement
            for (const directive &d : ds)
                if (at >= d.hash && at < d.end && (d.keyword == "define" || d.keyword == "undef")) own = true;
            if (own) continue;
            why = "the macro '" + w + "', defined inside the kernel body, is used in a preprocessor line there";
            return false;
        }
        if (at < it->second.at || at > it->second.until) {
            why = "the name '" + w + "' is used in the kernel body outside the lines where the body's own #define of it holds";
            return false;
        }
        std::string expansion = " ";
        expand(it->second, at, expansion);
        edits.push_back({at, t.length, expansion + " "});
        if (expanded > expansion_limit) {
            why = "the macros defined inside the kernel body expand to more than 16 MiB";
            return false;
        }
    }
    for (const directive &d : ds)
        if (d.keyword == "define" || d.keyword == "undef") {
            std::string blanked = text.substr(d.hash, d.end - d.hash); // (continuation lines keep their newlines)
            blank(blanked, 0, blanked.size());
            edits.push_back({d.hash, d.end - d.hash, blanked});
        }
    std::sort(edits.begin(), edits.end(), [](const text_edit &x, const text_edit &y) { return x.offset < y.offset; });
    return true;
}

} // namespace detail
} // namespace softmetal
