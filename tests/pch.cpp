// The translation unit tests/pch.h is precompiled in (target ps_test_pch).
