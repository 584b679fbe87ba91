%% Probe for ordering.test.ts and calls.test.ts: what Erlang/OTP does.
%% Run: erlc -o /tmp src/core/ordering_probe.erl && erl -noshell -pa /tmp -s ordering_probe main
%% Measured on OTP 25 (the same on 26+ for these cases):
%%   result_then_down: [result,'DOWN']
%%   trapped_link: [1,2,3,'EXIT']
%%   exit2_after_message: [ordinary,'EXIT',later]
%%   flush: [a,b]
%%   link_dead_untrapped: {error,noproc}
%%   link_dead_trapped: {true,{'EXIT',dead,noproc}}
%%   calling_self: calling_self
%%   reply_to_pid: {ok,42}
%%   nodedown_nodist: {nodedown,other@nohost}
-module(ordering_probe).
-export([main/0]).

hold() -> receive go -> ok end.
drain(Acc) -> receive M -> drain([tag(M) | Acc]) after 100 -> lists:reverse(Acc) end.
tag(T) when is_tuple(T) -> element(1, T);
tag(X) -> X.

main() ->
    Self = self(),
    %% A worker's result before its DOWN.
    P1 = spawn(fun() -> receive {watch, Wk} -> Self ! {r, erlang:monitor(process, Wk)} end, hold(), Self ! {seen, drain([])} end),
    Worker = spawn(fun() -> receive M -> P1 ! M, exit(done) end end),
    erlang:monitor(process, Worker),
    P1 ! {watch, Worker},
    receive {r, _} -> ok end,
    Worker ! result,
    receive {'DOWN', _, _, Worker, _} -> ok end,
    P1 ! go,
    receive {seen, S1} -> io:format("result_then_down: ~p~n", [S1]) end,
    %% A trapping process gets the linked process's messages before its EXIT.
    P2 = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, hold(), Self ! {seen, drain([])} end),
    receive ready -> ok end,
    spawn(fun() -> link(P2), [P2 ! N || N <- [1, 2, 3]], exit(bye) end),
    timer:sleep(50),
    P2 ! go,
    receive {seen, S2} -> io:format("trapped_link: ~p~n", [S2]) end,
    %% exit/2 after a message from the same sender.
    P3 = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, hold(), Self ! {seen, drain([])} end),
    receive ready -> ok end,
    P3 ! ordinary, exit(P3, some_reason), P3 ! later, P3 ! go,
    receive {seen, S3} -> io:format("exit2_after_message: ~p~n", [S3 -- [go]]) end,
    %% demonitor flush.
    T = spawn(fun() -> receive _ -> ok end end),
    R4 = erlang:monitor(process, T),
    self() ! a, exit(T, kill), timer:sleep(20), self() ! b,
    erlang:demonitor(R4, [flush]),
    io:format("flush: ~p~n", [drain([])]),
    %% link to a dead pid.
    Dead = spawn(fun() -> ok end), timer:sleep(20),
    spawn(fun() -> Self ! {link_untrapped, catch link(Dead)} end),
    receive {link_untrapped, {'EXIT', {E, _}}} -> io:format("link_dead_untrapped: ~p~n", [{error, E}]) end,
    spawn(fun() -> process_flag(trap_exit, true), L = link(Dead),
                   receive {'EXIT', Dead, R} -> Self ! {link_trapped, {L, {'EXIT', dead, R}}} end end),
    receive {link_trapped, LT} -> io:format("link_dead_trapped: ~p~n", [LT]) end,
    %% calls.
    {'EXIT', {CS, _}} = (catch gen_server:call(self(), x)),
    io:format("calling_self: ~p~n", [CS]),
    Srv = spawn(fun() -> receive {'$gen_call', {Pid, Tag}, get} -> Pid ! {Tag, 42} end end),
    io:format("reply_to_pid: ~p~n", [{ok, gen_server:call(Srv, get)}]),
    {'EXIT', {ND, _}} = (catch gen_server:call({foo, 'other@nohost'}, x)),
    io:format("nodedown_nodist: ~p~n", [ND]),
    halt().
