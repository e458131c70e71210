# LLVM's lld where the compiler can use it: it links an executable against the large static core
# library about four times as fast as GNU ld (1.7 s against 6.5 s for a test suite), and a full
# build links 87 of them.
include(CheckLinkerFlag)
check_linker_flag(CXX -fuse-ld=lld PS_HAVE_LLD)
if(PS_HAVE_LLD)
  add_link_options(-fuse-ld=lld)
endif()
