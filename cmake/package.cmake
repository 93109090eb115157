# The Debian package: install() rules and the CPack DEB configuration (deploy/debian/README.md).
#   scripts/build-web   (the web console, web/dist)
#   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONEYMAN_TESTS=OFF
#   ninja -C build/release honeyman honeyman-load && (cd build/release && cpack -G DEB)
# gives build/release/honeyman_<version>_amd64.deb. The layout is Debian's: /usr/bin, /etc,
# /lib/systemd/system; /etc and /lib are absolute destinations, so `cmake --install` without
# DESTDIR writes into the system as the package would (use the package instead).
# Included by the top-level CMakeLists.txt for builds that are not sanitizer or fuzz builds.

set(debian_dir ${PROJECT_SOURCE_DIR}/deploy/debian)
set(staged ${CMAKE_BINARY_DIR}/package)
file(MAKE_DIRECTORY ${staged})

# gzip -n: no name or time stamp in the header, so the same input gives the same bytes.
foreach(file honeyman.1 honeyman-load.1 changelog)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${debian_dir}/${file})
  execute_process(COMMAND gzip -9 -n -c ${debian_dir}/${file} OUTPUT_FILE ${staged}/${file}.gz
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()

install(TARGETS honeyman honeyman-load RUNTIME DESTINATION bin)
install(FILES ${staged}/honeyman.1.gz ${staged}/honeyman-load.1.gz DESTINATION share/man/man1)
install(FILES ${debian_dir}/copyright DESTINATION share/doc/honeyman)
# A native package (Honeyman is its own upstream; the version has no Debian revision): the
# changelog is changelog.gz, as lintian wants for native packages.
install(FILES ${staged}/changelog.gz DESTINATION share/doc/honeyman)
# The project README (every setting, the commands, the API) and, as Debian names package-specific
# notes, this package's README.Debian.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/honeyman)
install(FILES ${debian_dir}/README.md DESTINATION share/doc/honeyman RENAME README.Debian)
# Mosquitto: an example, not an active /etc/mosquitto/conf.d/ snippet (a package must not
# reconfigure a system broker it does not own; deploy/debian/README.md).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/mosquitto/mosquitto.conf
        DESTINATION share/doc/honeyman/examples RENAME mosquitto-honeyman.conf)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/mosquitto/README.md
        DESTINATION share/doc/honeyman/examples RENAME mosquitto-README.md)
install(FILES ${debian_dir}/lintian-overrides DESTINATION share/lintian/overrides RENAME honeyman)
# The web console (web/, built by `scripts/build-web` into web/dist), found by the server beside
# its binary: /usr/bin/../share/honeyman/web (WEB_DIR's default). Checked when the package is made
# (cpack runs the install), not at configure time: the console may be built after configuring.
# A tree without web/ (none to ship) makes a package without it.
set(web_dist ${PROJECT_SOURCE_DIR}/web/dist)
if(EXISTS ${PROJECT_SOURCE_DIR}/web/package.json)
  install(CODE "
    if(NOT EXISTS \"${web_dist}/index.html\")
      message(FATAL_ERROR \"${web_dist}/index.html is missing: the package ships the web \"
                          \"console; build it first with scripts/build-web\")
    endif()")
  install(DIRECTORY ${web_dist}/ DESTINATION share/honeyman/web PATTERN ".*" EXCLUDE)
endif()
install(FILES ${debian_dir}/honeyman.service DESTINATION /lib/systemd/system)
# A conffile (deploy/debian/conffiles); 0640 from the start, the group becomes honeyman in
# postinst (the group does not exist while dpkg unpacks).
install(FILES ${debian_dir}/honeyman.env DESTINATION /etc/honeyman
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME honeyman)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "Honeyman maintainers <maintainers@users.noreply.r-seed-dcfed613.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "dashboard backend for a fleet of Honeyman threat sensors")
# The extended description: CPack writes it below the summary, indenting each line by one space.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Honeyman receives threat events and heartbeats from honeypot sensors over
MQTT (Mosquitto with the dynamic-security plugin) or HTTP, stores them in
SQLite or PostgreSQL, and serves a REST API with JWT authentication and
admin, analyst and viewer roles, a WebSocket live feed, analytics and
Prometheus metrics.
.
This package contains the server and administration command honeyman, the
load generator honeyman-load, a hardened systemd unit running as the system
user honeyman with its SQLite database in /var/lib/honeyman, and the
configuration file /etc/honeyman/honeyman.env.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # honeyman_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from dpkg-shlibdeps (dpkg-dev); adduser for postinst's system user.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "mosquitto, postgresql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${debian_dir}/conffiles ${debian_dir}/postinst ${debian_dir}/prerm ${debian_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # 0755 scripts, 0644 conffiles
include(CPack)
