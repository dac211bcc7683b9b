# bash completion for ofsted-notifyctl                     -*- shell-script -*-
#
# Install as /usr/share/bash-completion/completions/ofsted-notifyctl, or
# source it from ~/.bashrc.

_ofsted_notifyctl()
{
    local cur prev opt words cword
    local -a opts
    local cmd= sub= nargs=0 i w

    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${words[cword]}
    prev=
    ((cword > 0)) && prev=${words[cword - 1]}

    # "--opt=value" arrives as "--opt", "=", "value" (COMP_WORDBREAKS).
    opt=$prev
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]] && ((cword > 1)); then
        opt=${words[cword - 2]}
    else
        [[ $cur == -* ]] && opt=
    fi

    # The command: the first word that is neither an option nor an
    # option's argument; then count the arguments after it.
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
            -c | --config | --event | --at | --school | --contact | --note | \
                --case | --limit | --timeout | --rule | --remit | --state | \
                --role | --since)
                # its argument, as "value" or as "=" "value"
                ((i++))
                [[ ${words[i]} == = ]] && ((i++))
                ;;
            -* | =) ;;
            *)
                if [[ -z $cmd ]]; then
                    cmd=$w
                else
                    # "token SUB": the first argument names a subcommand
                    ((nargs == 0)) && sub=$w
                    ((nargs++))
                fi
                ;;
        esac
    done

    # The argument of an option.
    case $opt in
        -c | --config)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
        --event)
            mapfile -t COMPREPLY < <(compgen -W 'notification pause resume
                conclusion deferred cancelled' -- "$cur")
            return
            ;;
        --remit)
            mapfile -t COMPREPLY < <(compgen -W 'school further_education
                early_years independent' -- "$cur")
            return
            ;;
        --state)
            mapfile -t COMPREPLY < <(compgen -W 'none open paused
                concluded' -- "$cur")
            return
            ;;
        --role)
            mapfile -t COMPREPLY < <(compgen -W 'viewer school trust
                admin' -- "$cur")
            return
            ;;
        --school | --at | --contact | --note | --case | --limit | --timeout | \
            --rule | --since)
            COMPREPLY=()
            return
            ;;
    esac

    local online='--json --timeout -c --config'
    local record="--school --at --contact --note $online"
    case $cmd in
        '')
            if [[ $cur == -* ]]; then
                opts=(-c --config -h --help)
            else
                opts=(plan rules check-config keygen notify pause resume conclude defer
                    cancel event ack list show upcoming ics test history status
                    reload watch backup audit export token help)
            fi
            mapfile -t COMPREPLY < <(compgen -W "${opts[*]}" -- "$cur")
            return
            ;;
        plan) opts=(--event --at --school --remit --state --new-case --json -c --config) ;;
        rules) opts=(--json --markdown -c --config) ;;
        check-config) opts=(-c --config) ;;
        keygen)
            if [[ $cur != -* ]]; then
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                return
            fi
            opts=(--force --webhook)
            ;;
        notify) opts=($record --new-case) ;;
        pause | resume | conclude | defer | cancel) opts=($record) ;;
        event)
            if ((nargs == 0)) && [[ $cur != -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W 'notification pause
                    resume conclusion deferred cancelled' -- "$cur")
                return
            fi
            opts=($record --new-case)
            ;;
        ack) opts=(--school --case --rule --note $online) ;;
        list) opts=(--all $online) ;;
        show) opts=(--case --school $online) ;;
        upcoming) opts=(--school $online) ;;
        ics) opts=(--school --timeout -c --config) ;;
        test)
            # CHANNEL is a name from the configuration: nothing to offer.
            [[ $cur != -* ]] && ((nargs == 0)) && return
            opts=($online)
            ;;
        history) opts=(--school --limit $online) ;;
        status | reload) opts=($online) ;;
        watch) opts=(--school --json -c --config) ;;
        backup)
            if ((nargs == 0)) && [[ $cur != -* ]]; then
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                return
            fi
            opts=($online)
            ;;
        audit) opts=(--since --school --case --limit $online) ;;
        export) opts=(--school $online) ;;
        token)
            if ((nargs == 0)); then
                [[ $cur == -* ]] && return
                mapfile -t COMPREPLY < <(compgen -W 'create list revoke' \
                    -- "$cur")
                return
            fi
            case $sub in
                create | revoke)
                    # NAME is the admin's to choose, or a token's name:
                    # nothing to offer.
                    [[ $cur != -* ]] && ((nargs == 1)) && return
                    opts=($online)
                    [[ $sub == create ]] && opts+=(--role --school)
                    ;;
                list) opts=($online) ;;
                *) return ;;
            esac
            ;;
        *) return ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "${opts[*]}" -- "$cur")
}

complete -F _ofsted_notifyctl ofsted-notifyctl

# ex: filetype=sh
