// Compiled only to produce the shared precompiled header (cmake/Build.cmake).
