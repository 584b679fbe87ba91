%% Beamline benchmark, Erlang side: the local scenarios of bench/local.ts,
%% written the same way (same message shapes, counts and chunking), so the
%% two columns of `npm run bench` compare like with like.
%%
%% Run (bench/local.ts does this): erlc -o Tmp beamline_bench.erl, then
%%   erl +P 2000000 -noshell -pa Tmp -eval 'beamline_bench:run([{local_send, 100000}], 2), halt().'
%% Each scenario prints one line:
%%   RESULT {"scenario":"local_send","value":1234.5,"unit":"msgs/s","n":100000}
-module(beamline_bench).
-behaviour(gen_server).
-export([run/2]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(CHUNK, 1000).

%% ------------------------------------------------------------------ entry

%% Repeats: measured runs per scenario after the warm-up; the best is kept
%% (process_bytes runs once).
run(Scenarios, Repeats) ->
    lists:foreach(fun({Id, N}) -> report(Id, N, best(Id, N, Repeats)) end, Scenarios).

best(process_bytes, N, _Repeats) -> {process_bytes(N), "bytes/process (lower is better)"};
best(Id, N, Repeats) ->
    warm_up(Id, N),
    Runs = [scenario(Id, N) || _ <- lists:seq(1, Repeats)],
    {lists:max([V || {V, _} <- Runs]), element(2, hd(Runs))}.

report(Id, N, {Value, Unit}) ->
    io:format("RESULT {\"scenario\":\"~s\",\"value\":~f,\"unit\":\"~s\",\"n\":~b}~n", [Id, float(Value), Unit, N]).

now_ns() -> erlang:monotonic_time(nanosecond).

rate(N, T0) -> N / ((now_ns() - T0) / 1.0e9).

%% Warm-up with a tenth of the work (as local.ts does).
warm_up(local_call_8, N) -> scenario(local_call_8, max(8, N div 10));
warm_up(Id, N) -> scenario(Id, max(1, N div 10)).

scenario(local_send, N) -> {send(N), "msgs/s"};
scenario(local_pingpong, N) -> {pingpong(N), "round trips/s"};
scenario(local_call, N) -> {calls(1, N), "calls/s"};
scenario(local_call_8, N) -> {calls(8, N), "calls/s"};
scenario(spawn_rate, N) -> {spawns(N), "processes/s"}.

%% ------------------------------------------------------------------ local_send
%% One sender, one receiver. The sender sends {msg, I} in chunks of 1000,
%% sending itself `more` between chunks; the receiver counts to N and
%% notifies the bench.

send(N) ->
    Self = self(),
    %% Off-heap message data: the receiver's collections do not copy its backlog
    %% (measured faster than on-heap for this flood on OTP 25).
    Receiver = spawn_opt(fun() -> receive_count(N, Self) end, [{message_queue_data, off_heap}]),
    Sender = spawn(fun() -> receive go -> send_loop(Receiver, 0, N) end end),
    T0 = now_ns(),
    Sender ! go,
    receive done -> ok end,
    rate(N, T0).

receive_count(0, Parent) -> Parent ! done;
receive_count(N, Parent) -> receive {msg, _} -> receive_count(N - 1, Parent) end.

send_loop(_R, I, N) when I >= N -> ok;
send_loop(R, I, N) ->
    End = min(N, I + ?CHUNK),
    send_chunk(R, I, End),
    self() ! more,
    receive more -> send_loop(R, End, N) end.

send_chunk(_R, I, End) when I >= End -> ok;
send_chunk(R, I, End) -> R ! {msg, I}, send_chunk(R, I + 1, End).

%% ------------------------------------------------------------------ local_pingpong
%% A sends {ping, A} to B; B answers pong. N round trips.

pingpong(N) ->
    Self = self(),
    B = spawn(fun ponger/0),
    A = spawn(fun() -> receive go -> pinger(B, N), Self ! done end end),
    T0 = now_ns(),
    A ! go,
    receive done -> ok end,
    exit(B, kill),
    rate(N, T0).

ponger() -> receive {ping, From} -> From ! pong, ponger() end.

pinger(_B, 0) -> ok;
pinger(B, N) -> B ! {ping, self()}, receive pong -> pinger(B, N - 1) end.

%% ------------------------------------------------------------------ local_call / local_call_8
%% K caller processes each make N div K sequential gen_server:call(S, get)
%% (default 5 s timeout) to one counter server that replies with its count.

init(Count) -> {ok, Count}.
handle_call(get, _From, Count) -> {reply, Count, Count + 1}.
handle_cast(_Msg, Count) -> {noreply, Count}.

calls(K, N) ->
    {ok, S} = gen_server:start(?MODULE, 0, []),
    Self = self(),
    Per = N div K,
    Callers = [spawn(fun() -> receive go -> call_loop(S, Per), Self ! done end end) || _ <- lists:seq(1, K)],
    T0 = now_ns(),
    [C ! go || C <- Callers],
    [receive done -> ok end || _ <- Callers],
    R = rate(Per * K, T0),
    gen_server:stop(S),
    R.

call_loop(_S, 0) -> ok;
call_loop(S, N) -> _ = gen_server:call(S, get), call_loop(S, N - 1).

%% ------------------------------------------------------------------ spawn_rate
%% Spawns N processes; each sends `done` to the spawner and exits. Timed
%% until the spawner has all N `done`s.

spawns(N) ->
    Self = self(),
    %% The spawner's mailbox fills with N `done`s while it spawns: off-heap
    %% message data keeps its garbage collections from copying them over and over
    %% (on-heap, the rate drops tenfold).
    Spawner = spawn_opt(fun() -> receive go -> spawn_loop(N), wait_done(N), Self ! done end end, [{message_queue_data, off_heap}]),
    T0 = now_ns(),
    Spawner ! go,
    receive done -> ok end,
    rate(N, T0).

spawn_loop(0) -> ok;
spawn_loop(N) ->
    P = self(),
    spawn(fun() -> P ! done end),
    spawn_loop(N - 1).

wait_done(0) -> ok;
wait_done(N) -> receive done -> wait_done(N - 1) end.

%% ------------------------------------------------------------------ process_bytes
%% Spawns N idle processes (each waits in receive for `stop`); the
%% increase of erlang:memory(processes) divided by N.

process_bytes(N) ->
    erlang:garbage_collect(),
    Before = erlang:memory(processes),
    Self = self(),
    Pids = [spawn(fun() -> Self ! up, receive stop -> ok end end) || _ <- lists:seq(1, N)],
    [receive up -> ok end || _ <- Pids],
    After = erlang:memory(processes),
    [P ! stop || P <- Pids],
    %% The list of pids lives on this process's heap, which erlang:memory(processes)
    %% also counts: subtract it (2 words per cons cell + 0 for the immediate pid).
    ListBytes = 2 * erlang:system_info(wordsize) * N,
    (After - Before - ListBytes) / N.
