// Metal's compiler text becomes structured diagnostics (no device needed).
#include "metal_test_support.hpp"

TEST_CASE("parse_diagnostics reads file, line, column, severity and message", "[metal][diagnostics]") {
    const std::string log =
        "program_source:4:15: error: use of undeclared identifier 'undeclared_name'\n"
        "    out[id] = undeclared_name;\n"
        "              ^\n"
        "program_source:2:7: warning: unused variable 'x' [-Wunused-variable]\n"
        "program_source:9:1: note: candidate function not viable\n"
        "2 errors generated.\n";
    const auto diagnostics = pymetal::parse_diagnostics(log);
    REQUIRE(diagnostics.size() == 3);
    CHECK(diagnostics[0].file == "program_source");
    CHECK(diagnostics[0].line == 4);
    CHECK(diagnostics[0].column == 15);
    CHECK(diagnostics[0].severity == "error");
    CHECK(diagnostics[0].message == "use of undeclared identifier 'undeclared_name'");
    CHECK(diagnostics[1].severity == "warning");
    CHECK(diagnostics[1].line == 2);
    CHECK(diagnostics[1].column == 7);
    CHECK(diagnostics[2].severity == "note");
}

TEST_CASE("parse_diagnostics keeps 'fatal error' whole and a message's own colons", "[metal][diagnostics]") {
    const auto diagnostics =
        pymetal::parse_diagnostics("program_source:1:10: fatal error: 'missing.h' file not found: really\n");
    REQUIRE(diagnostics.size() == 1);
    CHECK(diagnostics[0].severity == "fatal error");
    CHECK(diagnostics[0].line == 1);
    CHECK(diagnostics[0].column == 10);
    CHECK(diagnostics[0].message == "'missing.h' file not found: really");
}

TEST_CASE("parse_diagnostics skips lines that are not diagnostics", "[metal][diagnostics]") {
    CHECK(pymetal::parse_diagnostics("").empty());
    CHECK(pymetal::parse_diagnostics("Compilation failed: \n\nsomething: error: no location\n").empty());
}

TEST_CASE("compile_error's message holds the whole log and counts the errors", "[metal][diagnostics]") {
    const pymetal::compile_error e("MTLLibraryErrorDomain", 3,
                                   "program_source:4:15: error: first\nprogram_source:5:1: error: second\n");
    CHECK(e.errors().size() == 2);
    CHECK(e.domain() == "MTLLibraryErrorDomain");
    CHECK(e.code() == 3);
    CHECK(metal_test::contains(e.what(), "(2 errors)"));
    CHECK(metal_test::contains(e.what(), "program_source:5:1: error: second"));
}
