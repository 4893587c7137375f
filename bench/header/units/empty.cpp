// Compiler start-up alone: what every translation unit costs before any header.
int main() { return 0; }
