# Locate Arrow C++ and Parquet inside the installed pyarrow wheel.
#
# The wheel ships headers and ABI-tagged shared libraries (libarrow.so.2600);
# we point IMPORTED targets at those exact files instead of creating -larrow
# symlinks inside site-packages. We never link libarrow_python: data crosses
# the Python boundary through the Arrow C Data Interface.
execute_process(
  COMMAND "${Python_EXECUTABLE}" -c
          "import pyarrow as pa; print(pa.get_include()); print(pa.get_library_dirs()[0]); print(pa.__version__)"
  OUTPUT_VARIABLE _pa_out OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE _pa_rc)
if(NOT _pa_rc EQUAL 0)
  message(FATAL_ERROR "pyarrow is required to build datashard (pip install 'pyarrow>=26,<27')")
endif()
string(REPLACE "\n" ";" _pa_lines "${_pa_out}")
list(GET _pa_lines 0 PYARROW_INCLUDE_DIR)
list(GET _pa_lines 1 PYARROW_LIB_DIR)
list(GET _pa_lines 2 PYARROW_VERSION)
string(REGEX MATCH "^[0-9]+" PYARROW_MAJOR "${PYARROW_VERSION}")
set(_so_suffix "${PYARROW_MAJOR}00")
message(STATUS "Arrow from pyarrow ${PYARROW_VERSION}: ${PYARROW_LIB_DIR}")

foreach(_lib arrow parquet arrow_compute arrow_dataset arrow_acero arrow_s3)
  set(_path "${PYARROW_LIB_DIR}/lib${_lib}.so.${_so_suffix}")
  if(NOT EXISTS "${_path}")
    message(FATAL_ERROR "pyarrow wheel lacks ${_path}")
  endif()
  add_library(datashard::${_lib} SHARED IMPORTED)
  set_target_properties(datashard::${_lib} PROPERTIES
    IMPORTED_LOCATION "${_path}"
    IMPORTED_NO_SONAME FALSE
    INTERFACE_INCLUDE_DIRECTORIES "${PYARROW_INCLUDE_DIR}")
endforeach()
