%% Probe for lifecycle.test.ts: gen_server lifecycle on real Erlang/OTP.
%% Run: erlc -o /tmp src/server/lifecycle_probe.erl && erl -noshell -pa /tmp -s lifecycle_probe main
%% Measured on OTP 25:
%%   handle_info: 'EXIT'                  (started without a link: the starter is not the parent)
%%   unlinked_server_alive: true
%%   terminate ran / reply_after_terminate: bye   (terminate runs before the reply)
%%   timeout_after_get_state: fired       (sys:get_state does not cancel the timeout)
%%   nontrapping_start_link: {error,bad}  (OTP 25; OTP 29 kills the caller with bad before start_link returns)
%%   trapping_start_link: {error,bad}, mailbox: {'EXIT',_,bad}   (OTP 25; OTP 26+ consumes the EXIT: empty)
%% init returning {error, Reason} is OTP 26+ ({error, R} from start_link, the process exits normal).
-module(lifecycle_probe).
-behaviour(gen_server).
-export([main/0, init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

init(trap) -> process_flag(trap_exit, true), {ok, []};
init({stop, R}) -> {stop, R};
init({timeout, T}) -> {ok, waiting, T};
init(_) -> {ok, []}.
handle_call(stop_with_reply, _From, S) -> {stop, normal, bye, S};
handle_call(get, _From, S) -> {reply, S, S}.
handle_cast(_, S) -> {noreply, S}.
handle_info(timeout, waiting) -> io:format("timeout_after_get_state: fired~n"), {noreply, fired};
handle_info(Msg, S) -> io:format("handle_info: ~p~n", [element(1, Msg)]), {noreply, S}.
terminate(_, _) -> io:format("terminate ran~n"), ok.

main() ->
    Self = self(),
    %% Started without a link, trapping: an exit signal from the starter goes to handle_info.
    {ok, S1} = gen_server:start(?MODULE, trap, []),
    exit(S1, from_starter), timer:sleep(50),
    io:format("unlinked_server_alive: ~p~n", [is_process_alive(S1)]),
    %% stop with reply: terminate runs before the reply.
    {ok, S2} = gen_server:start(?MODULE, [], []),
    R2 = gen_server:call(S2, stop_with_reply),
    io:format("reply_after_terminate: ~p~n", [R2]),
    %% A timeout survives sys:get_state.
    {ok, S3} = gen_server:start(?MODULE, {timeout, 200}, []),
    timer:sleep(100), waiting = sys:get_state(S3), timer:sleep(300),
    io:format("state_after: ~p~n", [sys:get_state(S3)]),
    %% start_link with {stop, bad}: non-trapping caller.
    spawn(fun() -> Self ! {nontrap, catch gen_server:start_link(?MODULE, {stop, bad}, [])} end),
    receive {nontrap, NT} -> io:format("nontrapping_start_link: ~p~n", [NT]) after 500 -> io:format("nontrapping_start_link: caller killed~n") end,
    %% start_link with {stop, bad}: trapping caller.
    spawn(fun() -> process_flag(trap_exit, true), R = gen_server:start_link(?MODULE, {stop, bad}, []),
                   Left = receive M -> M after 100 -> empty end, Self ! {trap, R, Left} end),
    receive {trap, TR, Left} -> io:format("trapping_start_link: ~p, mailbox: ~p~n", [TR, Left]) end,
    halt().
