# install(): the public headers, the static core library and the CMake package gradtape::core
# (gradtapeConfig.cmake, gradtapeConfigVersion.cmake, gradtapeTargets.cmake).
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/cpp/include/gradtape
        DESTINATION ${GRADTAPE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "ops.def")
install(TARGETS gradtape_core EXPORT gradtapeTargets
        ARCHIVE DESTINATION ${GRADTAPE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${GRADTAPE_INSTALL_LIBDIR})
install(EXPORT gradtapeTargets NAMESPACE gradtape:: DESTINATION ${GRADTAPE_INSTALL_CMAKEDIR})

# What the config needs to find OpenBLAS again at the consumer's configure time: in a wheel,
# scipy_openblas32 sits next to gradtape in site-packages (a path relative to the installed
# package); otherwise it asks Python. The build-time directory is the last resort.
if(SKBUILD)
  set(GRADTAPE_OPENBLAS_REL_DIR "scipy_openblas32/lib")
else()
  set(GRADTAPE_OPENBLAS_REL_DIR "")
endif()
set(GRADTAPE_OPENBLAS_BUILD_DIR "${OPENBLAS_LIB_DIR}")
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/gradtapeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/gradtapeConfig.cmake
  INSTALL_DESTINATION ${GRADTAPE_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/gradtapeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gradtapeConfig.cmake ${PROJECT_BINARY_DIR}/gradtapeConfigVersion.cmake
        DESTINATION ${GRADTAPE_INSTALL_CMAKEDIR})
