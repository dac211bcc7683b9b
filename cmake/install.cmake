# What `cmake --install` puts where, beside the binaries and the units.

# The config and the holidays go to /etc/ofsted-notify, never over an
# admin's own copy; pristine copies stay in the data directory to compare.
# The .deb's postinst makes the config root:ofsted-notify 0640 (it names
# webhooks); after a plain `cmake --install`, do the same by hand.
foreach(f ofsted-notify.conf bank-holidays.json)
  install(CODE "
    set(dest \"\$ENV{DESTDIR}${ONOTIFY_CONFDIR}/${f}\")
    if(EXISTS \"\${dest}\")
      message(STATUS \"Keeping: \${dest} (the new one is in ${CMAKE_INSTALL_FULL_DATADIR}/ofsted-notify)\")
    else()
      file(INSTALL \"${PROJECT_SOURCE_DIR}/config/${f}\"
           DESTINATION \"${ONOTIFY_CONFDIR}\"
           FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    endif()")
endforeach()
install(FILES config/ofsted-notify.conf config/bank-holidays.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/ofsted-notify)
# The secrets the workers get through LoadCredential=, and the CURVE keys
# every unit gets the same way: root's alone.
install(DIRECTORY DESTINATION ${ONOTIFY_CONFDIR}/secrets
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
install(DIRECTORY DESTINATION ${ONOTIFY_CONFDIR}/curve
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)

# Man pages, compressed as Debian ships them.
find_program(GZIP gzip REQUIRED)
set(MANPAGES ofsted-notifyctl.1 ofsted-notify.conf.5 ofsted-notifyd.8
             ofsted-notify-worker.8 ofsted-notify-web.8)
set(MAN_GZ)
foreach(page ${MANPAGES})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${GZIP} -9n -c ${PROJECT_SOURCE_DIR}/docs/man/${page}
            > ${CMAKE_BINARY_DIR}/man/${page}.gz
    DEPENDS ${PROJECT_SOURCE_DIR}/docs/man/${page}
    VERBATIM)
  list(APPEND MAN_GZ ${CMAKE_BINARY_DIR}/man/${page}.gz)
  install(FILES ${CMAKE_BINARY_DIR}/man/${page}.gz
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(manpages ALL DEPENDS ${MAN_GZ})

install(FILES docs/completion/ofsted-notifyctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME ofsted-notifyctl)
install(FILES README.md docs/protocol.md docs/dispatch.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
