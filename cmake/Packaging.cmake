# Installation in a Debian layout under CMAKE_INSTALL_PREFIX and the .deb (`cpack` in the build
# folder writes prunestudio_<version>_<arch>.deb): the binaries, the ria plugin, the assembled
# default model, the presets, a desktop entry and its icon. LibTorch is not packaged: it is the
# PyPI torch wheel the build used, set up after installing by lib/prunestudio/install-torch in
# lib/prunestudio/venv, which the binaries' RUNPATH names relative to themselves.
string(REGEX MATCH "lib/python3\\.[0-9]+/site-packages/torch$" PS_TORCH_IN_VENV "${PRUNESTUDIO_TORCH_DIR}")
if(NOT PS_TORCH_IN_VENV)
  message(FATAL_ERROR "${PRUNESTUDIO_TORCH_DIR}: not a torch package inside a virtual environment")
endif()
file(STRINGS ${PRUNESTUDIO_TORCH_DIR}/version.py _torch_version REGEX "^__version__ = ")
string(REGEX REPLACE "^__version__ = '([^']+)'$" "\\1" PS_TORCH_VERSION "${_torch_version}")
string(REGEX REPLACE "\\+.*$" "" PS_TORCH_PIP_VERSION "${PS_TORCH_VERSION}")

set(PS_INSTALL_LIB lib/prunestudio)
set(PS_INSTALL_TORCH_LIB venv/${PS_TORCH_IN_VENV}/lib)
set_target_properties(prunestudio-cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${PS_INSTALL_LIB}/${PS_INSTALL_TORCH_LIB}")
install(TARGETS prunestudio-cli RUNTIME DESTINATION bin)
if(PRUNESTUDIO_GUI)
  set_target_properties(prunestudio PROPERTIES INSTALL_RPATH "$ORIGIN/../${PS_INSTALL_LIB}/${PS_INSTALL_TORCH_LIB}")
  install(TARGETS prunestudio RUNTIME DESTINATION bin)
  install(FILES packaging/deb/prunestudio.desktop DESTINATION share/applications)
  install(FILES resources/icons/prunestudio.svg DESTINATION share/icons/hicolor/scalable/apps)
endif()
set_target_properties(ria PROPERTIES INSTALL_RPATH "$ORIGIN/../${PS_INSTALL_TORCH_LIB}")
install(TARGETS ria LIBRARY DESTINATION ${PS_INSTALL_LIB}/plugins)
install(DIRECTORY ${PS_DEFAULT_MODEL_DIR}/ DESTINATION share/prunestudio/default-model)
install(DIRECTORY resources/presets DESTINATION share/prunestudio)
configure_file(packaging/deb/install-torch.in ${CMAKE_BINARY_DIR}/install-torch @ONLY)
install(PROGRAMS ${CMAKE_BINARY_DIR}/install-torch DESTINATION ${PS_INSTALL_LIB})
install(FILES README.md DESTINATION share/doc/prunestudio)
install(DIRECTORY docs/ DESTINATION share/doc/prunestudio/docs)
install(FILES packaging/README.md DESTINATION share/doc/prunestudio RENAME packaging.md)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME prunestudio)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "PruneStudio developers <prunestudio@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Prune vision-language models and see what pruning does")
set(CPACK_PACKAGE_DESCRIPTION "Desktop app (prunestudio) and command line (prunestudio-cli) for pruning vision-language
 checkpoints in Hugging Face layout: magnitude, Wanda, SparseGPT, ECoFLaP allocation, width and
 depth pruning, token pruning, SparseLoRA recovery, and export. After installing, run
 /usr/lib/prunestudio/install-torch to set up the LibTorch it runs on.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libc6, libstdc++6, libgomp1, zlib1g, libicu72, libsentencepiece0, libopencv-core406, libopencv-imgproc406, libopencv-imgcodecs406, python3-venv")
if(PRUNESTUDIO_GUI)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS
    ", libqt6core6, libqt6gui6, libqt6widgets6, libqt6printsupport6, libqt6concurrent6, libqt6svg6, qt6-qpa-plugins, libqcustomplot2.1-qt6, libglx0, libopengl0")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dataset-fashion-mnist")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
