# `cpack -G DEB` (or the `package` target): a .deb for Debian 12 and
# Ubuntu 22.04 and later. The maintainer scripts are in packaging/deb.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ofsted-notify)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "ofsted-notify developers <ofsted-notify@trust.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Ofsted inspection deadline alerts for a multi-academy trust")
set(CPACK_PACKAGE_DESCRIPTION
    "ofsted-notify keeps the schools of a trust ahead of the time limits of an
Ofsted inspection: the deferral request before 16:30 on the day of the
notification call, concerns on the next working day after the inspection,
and the resumption of a paused inspection. A scheduler daemon turns the
events an admin records into deadlines, over England's working days and
bank holidays, and workers deliver the alerts by email and to Microsoft
Teams, Google Chat, Slack, Discord, Mattermost or a signed JSON webhook.")
set(CPACK_STRIP_FILES ON)
# The units name the binaries' installed paths: package what was configured
# (scripts/test and scripts/package configure /usr).
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# sysusers, tmpfiles and the units need systemd (deb-systemd-invoke is in
# init-system-helpers, which is essential); TLS and time zones need the two
# data packages.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, tzdata, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
# What Debian requires of every package's documentation directory (a
# native package: its changelog is changelog.gz).
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
  COMMAND ${GZIP} -9n -c ${PROJECT_SOURCE_DIR}/packaging/deb/changelog
          > ${CMAKE_BINARY_DIR}/changelog.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/deb/changelog
  VERBATIM)
add_custom_target(debian-changelog ALL
                  DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz
              packaging/deb/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/deb/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME ofsted-notify)
include(CPack)
