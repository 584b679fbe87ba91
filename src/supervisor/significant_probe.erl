%% Probe for significant.test.ts and simple.test.ts: OTP's supervisor with significant
%% children, auto_shutdown, and simple_one_for_one's count_children / terminate_child.
%% Run: erlc -o /tmp src/supervisor/significant_probe.erl && erl -noshell -pa /tmp -s significant_probe main
%% Measured on OTP 25 (results quoted in significant.test.ts), plus:
%%   simple count: [{specs,1},{active,2},{supervisors,0},{workers,2}]
%%   simple terminate by id: {error,simple_one_for_one}
-module(significant_probe).
-behaviour(supervisor).
-export([main/0, init/1, worker/1]).

init({Flags, Children}) -> {ok, {Flags, Children}}.
worker(_Name) -> {ok, spawn_link(fun() -> receive {exit, R} -> exit(R) end end)}.
child(Id, Restart, Sig) -> #{id => Id, start => {?MODULE, worker, [Id]}, restart => Restart, significant => Sig}.
start(Auto, Children) ->
    process_flag(trap_exit, true),
    supervisor:start_link(?MODULE, {#{strategy => one_for_one, auto_shutdown => Auto}, Children}).
pid(Sup, Id) -> {Id, P, _, _} = lists:keyfind(Id, 1, supervisor:which_children(Sup)), P.
result(Sup) -> receive {'EXIT', Sup, R} -> {sup_exited, R} after 300 -> {sup_alive, length(supervisor:which_children(Sup))} end.

main() ->
    io:format("never+significant: ~p~n", [start(never, [child(a, transient, true)])]),
    io:format("permanent significant: ~p~n", [start(any_significant, [child(a, permanent, true)])]),
    {ok, S1} = start(any_significant, [child(a, transient, true), child(b, permanent, false)]),
    pid(S1, a) ! {exit, normal}, io:format("any, transient normal: ~p~n", [result(S1)]),
    {ok, S2} = start(any_significant, [child(a, transient, true), child(b, permanent, false)]),
    pid(S2, a) ! {exit, crash}, io:format("any, transient crash: ~p~n", [result(S2)]),
    {ok, S3} = start(any_significant, [child(a, temporary, true), child(b, permanent, false)]),
    pid(S3, a) ! {exit, crash}, io:format("any, temporary crash: ~p~n", [result(S3)]),
    {ok, S4} = start(all_significant, [child(a, temporary, true), child(b, temporary, true), child(c, permanent, false)]),
    pid(S4, a) ! {exit, normal}, io:format("all, one of two: ~p~n", [result(S4)]),
    pid(S4, b) ! {exit, normal}, io:format("all, two of two: ~p~n", [result(S4)]),
    {ok, S5} = start(any_significant, [child(a, transient, true)]),
    ok = supervisor:terminate_child(S5, a), io:format("any, terminate_child: ~p~n", [result(S5)]),
    {ok, S6} = supervisor:start_link(?MODULE, {#{strategy => simple_one_for_one}, [#{id => t, start => {?MODULE, worker, []}}]}),
    {ok, _} = supervisor:start_child(S6, [x]), {ok, _} = supervisor:start_child(S6, [y]),
    io:format("simple count: ~p~n", [supervisor:count_children(S6)]),
    io:format("simple terminate by id: ~p~n", [supervisor:terminate_child(S6, t)]),
    io:format("simple sof auto: ~p~n", [supervisor:start_link(?MODULE, {#{strategy => simple_one_for_one, auto_shutdown => any_significant}, [#{id => t, start => {?MODULE, worker, []}, restart => temporary, significant => true}]})]),
    halt().
