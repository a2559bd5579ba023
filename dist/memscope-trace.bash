# SPDX-License-Identifier: BSD-3-Clause
# bash completion for memscope-trace(8)
_memscope_trace()
{
	local cur prev words cword split
	_init_completion -s || return

	if [[ ${words[1]} == diff ]]; then
		_filedir json
		return
	fi
	if [[ ${words[1]} == leak-check ]]; then
		case $prev in
		-o | --output | --html | --pprof) _filedir ;;
		--debuginfod-cache) _filedir -d ;;
		--leak-check-timeout) ;;
		*)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W '--output --html --pprof --leak-check-timeout
					--no-debuginfod --debuginfod-cache --verbose' -- "$cur"))
			else
				_pids
			fi
			;;
		esac
		return
	fi
	case $prev in
	-p | --pid)
		_pids
		return
		;;
	-m | --mode)
		COMPREPLY=($(compgen -W 'full fast light sampled' -- "$cur"))
		return
		;;
	--unwind)
		COMPREPLY=($(compgen -W 'dwarf fp' -- "$cur"))
		return
		;;
	--debuginfod-cache)
		_filedir -d
		return
		;;
	-o | --output | --html | --folded | --folded-alloc | --timeline | --pprof)
		_filedir
		return
		;;
	-d | --duration | -i | --interval | --snapshot-interval | --stack-depth | \
	--ring-size | --max-live | --keep | --metrics | --metrics-top | --unwind-tables | \
	--leak-check-timeout)
		return
		;;
	--budget)
		COMPREPLY=($(compgen -W 'none 5 10' -- "$cur"))
		return
		;;
	esac
	$split && return
	# after "--" comes the command to start and its arguments
	local i
	for ((i = 1; i < cword; i++)); do
		if [[ ${words[i]} == -- ]]; then
			_command_offset $((i + 1))
			return
		fi
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '$(_parse_help "$1")' -- "$cur"))
		[[ ${COMPREPLY-} == *= ]] && compopt -o nospace
	elif ((cword == 1)); then
		COMPREPLY=($(compgen -W 'diff leak-check' -- "$cur"))
	fi
} &&
	complete -F _memscope_trace memscope-trace
