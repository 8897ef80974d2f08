// Built into the test binary of the sanitizer build only (test/core/CMakeLists.txt), so every run
// of it (ctest, the test discovery, by hand) uses the same settings without environment variables.
extern "C" const char* __asan_default_options() { return "strict_string_checks=1:detect_stack_use_after_return=1"; }
