-- Catalog: the realistic data set behind `bookshop seed --books N`, generated in SQL.
-- Loaded as the owner (data loading is owner work, like fixtures), in batches the CLI reports.
-- Text comes from a fixed list of 2,000 words drawn with a skewed (Zipf-like) distribution, so
-- full-text search has real selectivity: the first words of the list are in most books, the
-- last in under 1%, and three words outside the list are planted at fixed rates to be rare.

-- name: seed_vocabulary()^
-- The fixed vocabulary: 2,000 words, most common first, each one its own lexeme under the
-- 'english' configuration and none a stop word; and first and last names for people.
SELECT regexp_split_to_array(btrim($words$
    night light house river world time heart shadow city garden water stone fire winter summer story
    life road king queen girl boy sea dream home blood island war mountain forest memory secret dark
    silver golden black white red blue green last first long lost little old new great small wild
    quiet broken hidden silent deep bright cold warm sweet bitter empire kingdom voice letter book
    song child mother father daughter son brother sister friend stranger lover wife husband family
    name door window wall bridge tower castle village town street market harbor ship storm wind rain
    snow sun moon star sky earth field valley hill lake ocean shore coast desert wood tree leaf
    flower rose bird wolf horse dog cat fox bear lion dragon ghost angel devil god saint witch
    hunter soldier doctor teacher painter writer keeper thief spy captain prince princess lady lord
    master servant farmer sailor pilot traveler prisoner widow orphan morning evening midnight dawn
    dusk hour day week year season spring autumn century moment age future past present history
    journey return escape flight fall rise end beginning edge line circle map key glass mirror clock
    bell candle lamp shadowland truth lie promise hope fear love hate grief joy faith honor courage
    beauty death birth peace freedom justice power glory fortune chance luck fate destiny art music
    dance poem tale legend myth word sign mark trace path trail way gate crossing passage border
    frontier country land nation people crowd tribe order society apple bread salt honey wine milk
    sugar coffee tea orange lemon cherry pepper kitchen table chair bed room hall library school
    church temple palace hospital station hotel theater museum factory office paper ink pen note
    diary journal record file report archive document picture photograph painting portrait image
    color shade tone sound echo whisper cry laugh scream silence ratio trench melody convoy lottery
    raven fern coal birthday cello blanket cloud motel gull robin cobweb crystalline cascade
    greyhound crib innocent niece butcher prey monsoon savage fantasy gunpowder delight axe plume
    chariot cocoon lotus ivy exile choir hunger fertile revenge procession vintage passport laundry
    expedition primal barrier button bee hawk beaver retreat squire masquerade volcano dapper
    saffron gravel iris outlandish bonfire eloquent chapel ornament tambourine steel cottage pagoda
    souvenir tangerine dock dolphin sincere regiment cafe outpost splendor folly hammock sheriff pig
    monkey legion pedestal camel ridge pickle cipher quaint dairy crest prosperous glad circus busy
    mist fame penny trapeze jealous gondola hearth mushroom machine mine olive bureau cake herald
    ringmaster clarinet cinder quilt second sultan ice narrative idol vengeance trade tempest severe
    sentry argument prize jockey perfume almanac cloister gladiator quick serpent sleigh patriot
    court peddler bountiful yew bouquet haunted radiant brisk inferno cattle dish baptism vapor
    nightingale tenant sleek hood hillside playful bicycle rustic charm creek grammar tobacco
    devotion beggar arena fuzzy parachute pirate waterfront foundation watcher copper racket axis
    lush defeat frog bold journalist boar hungry sword countryside cathedral distance necromancer
    thirst cozy trombone dove clever thorn obscure skyline geography blazing immense danger thin
    smooth frugal opulent decoy radar exodus auction motor wizard ruby leopard guitar accident
    reptile park platform waterfall blind pistol virus umbrella scout blessed grape pipe mouth false
    minister noisy brief manor shallows lavender leather far hive sage daybreak ash lunch square
    medal sorrow slender pocket loyal aurora sparrow strange citadel wren rat spectacle rubble
    donkey feast string ravine upper eagle bargain branch steamboat collar mud envelope turquoise
    clown milestone concert maker agile capsule bamboo chronicle scarf prelude omen pilgrimage prism
    sponsor regal depth stocking parasol sled cliffside nameless hasty ribbon jagged theory
    sanctuary mast laboratory citizen breath mellow sweater brigade amber inventor monk jester
    lonely trumpet oar amused avalanche waterside rabbi playground potter shabby cosmic squadron
    sacred juicy ample pensive monastery plank pure alert case stadium slow cemetery porridge hymnal
    lizard clerk carpenter deacon ranger subway third gospel otter eastern ancient paradise den
    waltz alibi flawless emerald suburb navigator commerce chilly galaxy linen butterfly tournament
    experiment chorus footprint skeleton monarch parable pasture juniper tame dwarf wedding fever
    sketch boisterous tumbler archer regent colonel fashion comedy zenith colossal mural delta
    cardinal motive helmet wilderness march dessert bundle pass lucky cable spell ripe real camera
    sheep general dynasty apprentice elk full vulture buffalo anvil kennel lute lace poverty mariner
    bedroom doll bottom flame pride clone hearty young nectar migration epic attic seal windowsill
    outlaw engine ballroom hollow runner panther wagon diligent pinnacle cursed hedge pelican
    ambitious flannel ransom sabbath narrow empty merry train fast cavalry breeze enormous swallow
    wharf vineyard helpless frost dying dear audience dome savanna abandon architect dilemma
    guardian lock earl filament dialect balcony problem novel dim imp roof nomad hiding horizon
    middle fleeting duchess tomato nun angle mercenary parade royal pristine workshop goat relic
    stream tundra sorcerer rune reef ritual flood essay jungle grass magnificent jealousy farmhouse
    bow chapter wheat inner giraffe grandfather north antidote timber riddle apron grotto violet
    bull muddy annals snake remedy anger shipwreck console fiddle silk rifle placid imperial slipper
    mask orchestra holiday mortal clay gold wonderland sly wreath sapphire wide lip warrant magnolia
    moat conquest dinosaur peculiar singing warlock duel fossil hurricane lucid freight fiery final
    cove instinct fearless short thunder rival ordinary uncle snowy hundred hermit rich spade
    furious beacon ballad solemn curtain conscience gallery paddock cedar harp plague moose back
    mage tutor domino hallway liberty betrayal enigma pale chain beloved aroma celestial jewel maple
    bronze tongue isle bank dainty jovial trellis observatory greenhouse wheel hero lumber hazard
    parliament tapestry brook shining pony jubilee zero candid side heiress habit face comic icicle
    needle fable curious magnet thousand pulse science slim parrot parcel parish badger ascent herd
    heron admiral teal dizzy cannon sloop firework tailor gravity elegy academy molten grocer polite
    april crypt port scandal tooth well linden sharp magician top lesson venture homeland fluffy
    lofty baron crescent fabric outside ambush anthem indigo late prophet atlas ember banker vine
    body pond vault chess stallion shoreline lamb venom mosaic bracelet stable gloomy fragrance
    epilogue dentist shiny shoulder rebellion nephew west barn sudden burrow contract wandering
    weaver diamond talisman labyrinth moonlight diplomat earnest disguise cave saga veteran
    staircase northern across precious pageant crimson ankle cow trunk smoky wool famine scientist
    waking damp seeker craft pillow handkerchief marathon basil radio pillar restful cartel bucket
    hare ominous tragedy telescope rampart origin detective careful pyramid arm farewell corner
    siege scaffold obvious grandmother bashful feather compass historian dew rigid swamp tent
    wasteland moody greedy drum ruthless surgeon gentle coin intense crafty gang south casino jury
    ladder aerial frantic embassy notebook giddy antler finder arrival palm flute locket boat ox
    dust banner album sandal horrible revolution icon near cricket tinder cage traitor chamber
    somber abbey microscope estate altar satchel clover idle bubble early inlet rosy comet organ
    countess campaign proud living fickle envious army lieutenant gift rock head parlor powder
    western low rotten stew jade mourning mason headland wolfhound deputy sober calendar windmill
    carnival pine belief fragment cruel oak daisy rooster fur cousin noble shady viaduct hatchet
    lantern onion scented chest fireplace appetite deer rainfall witness naive neck treasure obelisk
    guide partner weasel inland canvas hammer steeple soup patience soft serene passenger calm
    victory chase closed anxious requiem cactus fish hamlet inn epidemic javelin barren budget
    summit coffin valentine debt meek professor pheasant singer bone picnic palette count vicar mule
    shark famous chimney rapids prologue migrant yard odd lagoon fair event baker finch marsh
    sparkling rumor guild lavish peak number mansion bullet saddle patch cotton wicked rare envoy
    humid residence eager prairie panorama trophy knight thicket tornado climate opera pastry
    forbidden gem annex slope winterland quarrel crown snowfall rainbow fence fortress arbor harsh
    goblet true throat fading major broom harmony bishop oasis icy lazy clan mill profit daring
    pumpkin blade keen quarry submarine veil fatherland yeoman villa merchant rag pledge boundary
    crime stork silhouette cargo loft performance voyage pendulum lullaby birch android companion
    mischief strawberry heather tiger coastline solid philosopher desperate plain utopia affection
    dam hound manuscript elegant viper truck viscount alley berry tulip wave heartland territory
    oracle butler rhyme cunning closet typhoon guilty omelette banquet pier foot piano maiden outer
    missionary lattice modern neighbor carpet debut turtle coyote goblin cyborg boathouse robe
    plaster dazzling kinship absolute shy rabbit spider fugitive net impatient almond verdict elder
    briar emotion boulder brewer funnel crystal saloon aunt sunset smoke miller thistle dragonfly
    jail hand quay nursery treaty heavy bride glossy beetle basket frightened meadow open monument
    breakfast knot zebra nostalgic angry alarm formula orchid baroness monstrous adorable scarlet
    perfect restless discovery lobster explorer finger mighty shaggy igloo shack threshold supper
    province halo nest swan potato ticket brick shield ruin bleak lodge awkward glacier potion flag
    hostage classroom pottery cradle jar throne lighthouse odyssey errand custom legacy velvet
    episode fig apartment canoe student petty bayou fjord eye bewildered spire grumpy quest resort
    merciful cigar grateful hail gear torch fancy puppet elusive precinct shelter fond canal spice
    skin prickly willow simple painful arch rider mermaid marshal twilight cliff absence settler
    blunt stove novelist granary meteor lawyer dusty brittle dreamer delicate generous juggler tomb
    transmission infant locomotive pleasant gambler shrine moth ant symphony pool descent harvest
    nightfall ivory veranda gentleman enemy cautious invisible duke musician jaguar mint brave valve
    harbinger inheritance beard forgotten caravan running package ahead mystery fellow peninsula
    grand riverside armor brazen battle christening free granite fog defense mailbox vagabond price
    waiter pilgrim alien buoyant anchor ochre militia disaster illustrious mosque salty sergeant
    invention hard emperor tribute sunlight capital gallant promenade knee hazy ashen agent verse
    cupboard ancestor bus watchman rosary firelight breaker tired cure pharaoh zone honest pitcher
    cashier car empress podium wire toad gallows falcon assassin gown southern holy drawer azure
    lawn warrior lightning priest faint whale rust gorge ranch desire code arid thyme burden prayer
    behind blizzard guest sleeping telegram charcoal lance decent dancer cheerful quill garland hex
    universe hen avenue matador borderland reservoir lane dusky cushion villain arctic stagecoach
    camp violin elm midwife sonata reluctant coastal motherland tunnel thimble giant modest planet
    barrel builder nebula lemonade illusion tide postcard cloak confession loss serenade fiction
    amazing plum funeral seaside mustard scholar brilliant rough thunderbolt fan numb parchment
    marriage cabinet schoolhouse plump kettle chivalrous turnip humble nugget viceroy smuggler
    preacher puzzle wreck courteous defiant pamphlet sentence icefall overture minstrel railway
    arrow massive dinner center glorious sundial cypress elephant instrument eternal sentinel
    diagram bench accidental rope youth wise occasion misty herb drama polished belt happy homestead
    refugee forge amulet east tall cart owl ditch equation crooked nervous fierce terrace pope
    napkin anguish jelly thread advice doctrine fountain monster hornet necklace garrison quiver
    obedient sand suitcase deed jacket prophecy marble tractor alchemy knife hair robust foam
    bandage gradual summerhouse clinic convent foolish trial highway yacht porch decade ferry pigeon
    coat deal astonishing encounter scroll flask heir grave grace drifting grim ebony snowflake
    suspect pebble dreadful reunion tortoise rooftop sculpture question poppy burning inside
    letterbox trap iron graveyard whistle nimble endless nutmeg money legendary beyond satellite
    pudding october porcelain answer rescue dreary mouse sad poor clumsy peril haven majestic
    hesitant insect squirrel recipe sculptor judge sail lament moss colony spear lark scepter
    blissful dense cabin mirage trinket peasant bay wrestler exotic badge abyss vision kite high
    ceremony hardy vow honeymoon signal scary pioneer romantic tablet ordeal luminous festival hymn
    sonnet crane ornate dagger tavern dungeon limestone gypsy rebel prodigy furnace wardrobe
    blacksmith summerland lower wasp orbit asylum medicine rugged emblem common pearl thick ape crow
    vanilla pendant evidence actor carriage handsome warehouse uniform kind gazette amiable abstract
    alliance ambition rogue cellar champion sunrise sailboat portal heroine brandy adventure plaza
    blossom garment poison robot jolly quartz reckless acre wealth rascal deluge yoke pandemonium
    heroic current invasion commander leg gigantic enchanter evergreen canyon murder rocket cookie
    gossip paddle aqueduct cyclone diner incident crusade murky arcade acorn chart matter gleaming
    starlight distant bumpy raft genius daylight salmon artist healthy lily crossroad affair mammoth
    million statue abundant ginger scarce feeble vessel clue huge civil peacock larch accent yarn
    miracle shaft oath refuge careless loom damsel bachelor hut crisp remote seashell poet mantle
    bandit frosty athletic fragile crater breathless mission orchard pavilion casual frozen glove
$words$, E' \n'), '\s+') AS words,
       ARRAY['Ada', 'Alba', 'Amir', 'Ana', 'Arlo', 'Astrid', 'Beatrix', 'Bruno', 'Carmen', 'Caspar', 'Chen',
             'Clara', 'Dara', 'Dmitri', 'Edith', 'Elias', 'Emeka', 'Esme', 'Farah', 'Felix', 'Freya', 'Gideon',
             'Greta', 'Hana', 'Henrik', 'Ines', 'Ivan', 'Jonah', 'Jun', 'Kofi', 'Leila', 'Lena', 'Luca', 'Mara',
             'Mateo', 'Mina', 'Nadia', 'Nico', 'Nora', 'Odile', 'Omar', 'Otto', 'Pilar', 'Priya', 'Quentin',
             'Rosa', 'Ruth', 'Sami', 'Selma', 'Silas', 'Sofia', 'Tariq', 'Thea', 'Tomas', 'Una', 'Vera',
             'Viktor', 'Wren', 'Yara', 'Zane'] AS first_names,
       ARRAY['Abbott', 'Achebe', 'Aldana', 'Barros', 'Bellweather', 'Blackwood', 'Brandt', 'Calloway',
             'Castellan', 'Chandra', 'Dalca', 'Delacroix', 'Draper', 'Ellison', 'Engel', 'Farrow', 'Fenwick',
             'Galloway', 'Garza', 'Hale', 'Haddad', 'Hargreave', 'Ibsen', 'Ivers', 'Jansen', 'Kahale', 'Kessler',
             'Kowalski', 'Lark', 'Lindqvist', 'Lowell', 'Marchetti', 'Mbeki', 'Merriweather', 'Moreau',
             'Nakamura', 'Novak', 'Okafor', 'Oyelaran', 'Pennington', 'Petrov', 'Quill', 'Ramsey', 'Reyes',
             'Rowan', 'Sandoval', 'Sato', 'Sinclair', 'Strand', 'Takahashi', 'Thorne', 'Underhill', 'Vance',
             'Varga', 'Whitlock', 'Winslow', 'Yilmaz', 'Young', 'Zeller', 'Zubiri'] AS last_names;

-- name: seed_numbering()^
-- Where a run's numbers start, so it adds to what is there: after the highest number any book's
-- slug ends in ("-123") and any generated customer's email carries. One pass over each table
-- (no index serves a suffix), paid once per run.
-- plan: seq-scan ok, the seed generator's bookkeeping: one pass over books and users per run,
-- cheaper than an index that every write would maintain for it.
SELECT coalesce((SELECT max(substring(slug FROM '-([0-9]{1,9})$')::bigint) FROM books), 0) AS last_book,
       coalesce((SELECT max(substring(email FROM '\.([0-9]{1,9})@customers\.example$')::bigint) FROM users), 0)
           AS last_customer;

-- name: seed_count_taken_isbns(first, last)$
-- Books whose ISBN the generator would give to books :first to :last (978 + the number in nine
-- digits + the check digit); a range scan of books_isbn_key. Not zero: the run must not start.
SELECT count(*)
FROM books
WHERE isbn BETWEEN '978' || lpad(:first::bigint::text, 9, '0') || '0'
               AND '978' || lpad(:last::bigint::text, 9, '0') || '9';

-- name: seed_prepare_loading()$
-- The first statement of a run's transaction. Runs take turns: the advisory lock, held to the
-- end of the transaction, makes a second run wait, and its next statement then numbers after the
-- first run's rows. And memory for the batches' sorts, for this transaction only.
SELECT pg_advisory_xact_lock(hashtext('bookshop seed --books')),
       set_config('work_mem', '64MB', true);

-- name: seed_set_random(seed)$
-- Seeds random() for the rest of the session, so the same book numbers make the same data.
SELECT setseed(:seed::float8);

-- name: seed_tags(count)$
-- The first :count tags of a fixed list (50 genres, then each genre with a qualifier, such as
-- "Modern Poetry"), created when missing (tags_slug_key) and returned as ids in list order, most
-- used first. Seeding again reuses them.
WITH listed AS (
    SELECT (q.ord - 1) * 50 + g.ord - 1 AS rank, ltrim(q.word || ' ' || g.word) AS name
    FROM unnest(ARRAY['', 'Modern', 'Classic', 'Illustrated', 'Contemporary', 'Victorian', 'Medieval',
                      'Nordic', 'Latin American', 'African', 'Asian', 'Award-Winning'])
             WITH ORDINALITY AS q (word, ord)
    CROSS JOIN unnest(ARRAY['Fiction', 'Fantasy', 'Science Fiction', 'Mystery', 'Thriller', 'Romance',
                            'Historical Fiction', 'Horror', 'Poetry', 'Drama', 'Biography', 'Memoir', 'History',
                            'Philosophy', 'Science', 'Travel', 'Cooking', 'Art', 'Music', 'Nature', 'Politics',
                            'Economics', 'Psychology', 'Religion', 'Humor', 'Crime', 'Adventure', 'Young Adult',
                            'Children', 'Classics', 'Short Stories', 'Essays', 'Graphic Novels', 'Mathematics',
                            'Technology', 'Health', 'Sports', 'Education', 'Business', 'Law', 'Medicine',
                            'Architecture', 'Photography', 'Gardening', 'Languages', 'Mythology', 'Folklore',
                            'War', 'Westerns', 'Satire'])
             WITH ORDINALITY AS g (word, ord)
),
wanted AS (
    SELECT rank, name, lower(regexp_replace(name, '[^A-Za-z0-9]+', '-', 'g')) AS slug
    FROM listed
    WHERE rank < :count::int
),
created AS (
    INSERT INTO tags (name, slug)
    SELECT name, slug FROM wanted
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, slug
)
SELECT coalesce(array_agg(coalesce(created.id, tags.id) ORDER BY wanted.rank), '{}')
FROM wanted
LEFT JOIN created USING (slug)
LEFT JOIN tags USING (slug);

-- name: seed_authors(count, words, first_names, last_names)$
-- :count new authors ("Mara K. Ellison", most with a one-line bio); returns their ids.
WITH created AS (
    INSERT INTO authors (name, bio)
    SELECT name,
           CASE WHEN random() < 0.6
                THEN name || ' writes about ' || (:words::name[])[1 + floor(random() ^ 2 * 400)::int]
                     || ' and ' || (:words::name[])[1 + floor(random() * cardinality(:words::name[]))::int] || '.'
                ELSE ''
           END
    FROM (
        SELECT (:first_names::text[])[1 + floor(random() * cardinality(:first_names::text[]))::int]
               || ' ' || chr(65 + floor(random() * 26)::int) || '. '
               || (:last_names::text[])[1 + floor(random() * cardinality(:last_names::text[]))::int] AS name
        FROM generate_series(1, :count::int)
    ) AS named
    RETURNING id
)
SELECT coalesce(array_agg(id), '{}') FROM created;

-- name: seed_customers(first, count, first_names, last_names)$
-- Customers number :first to :first + :count - 1, emailed <first>.<last>.<number>@customers.example
-- (unique by the number); returns their ids.
WITH created AS (
    INSERT INTO users (email, name, preferences, is_active, last_login_at)
    SELECT lower(first_name || '.' || last_name) || '.' || n || '@customers.example',
           first_name || ' ' || last_name,
           jsonb_build_object('newsletter', random() < 0.4)
           || CASE WHEN random() < 0.5
                   THEN jsonb_build_object('genres', jsonb_build_array(
                            (ARRAY['fantasy', 'history', 'poetry', 'science', 'crime', 'travel'])
                                [1 + floor(random() * 6)::int]))
                   ELSE '{}'
              END,
           random() < 0.97,
           CASE WHEN random() < 0.8 THEN now() - interval '400 days' * random() ^ 2 END
    FROM (
        SELECT n,
               (:first_names::text[])[1 + floor(random() * cardinality(:first_names::text[]))::int] AS first_name,
               (:last_names::text[])[1 + floor(random() * cardinality(:last_names::text[]))::int] AS last_name
        FROM generate_series(:first::bigint, :first::bigint + :count::int - 1) AS n
    ) AS named
    RETURNING id
)
SELECT coalesce(array_agg(id), '{}') FROM created;

-- name: seed_books(first, count, words, author_ids, tag_ids)^
-- Books number :first to :first + :count - 1 with their tags, in one statement. Titles (2 to 6
-- words) and descriptions (20 to 60) draw word k of :words with probability rising steeply
-- towards the front (floor(n * random()^3)); books 500, 1500, … (every 1,000th) also mention
-- "marmalade", every 10,000th "quasar" and every 100,000th "zeppelin", for searches that match
-- few. Authors are drawn from :author_ids so a few write hundreds of books and many one or two;
-- tags (1 to 4 per book) from :tag_ids, the front of the list most. Slug: the title and the
-- number; ISBN: 978, the number in nine digits, and the check digit. About 92% are published
-- over the last 20 years, 1% soft-deleted; prices mostly end in .99; 70% have a cover in metadata.
WITH drafts AS MATERIALIZED (
    SELECT n,
           '978' || lpad(n::text, 9, '0')
           || ((10 - (38 + 3 * (n % 10) + n / 10 % 10 + 3 * (n / 100 % 10) + n / 1000 % 10
                      + 3 * (n / 10000 % 10) + n / 100000 % 10 + 3 * (n / 1000000 % 10) + n / 10000000 % 10
                      + 3 * (n / 100000000 % 10)) % 10) % 10)::text AS isbn,
           2 + floor(random() * 5)::int AS title_words,
           20 + floor(random() * 41)::int AS description_words,
           1 + floor(random() ^ 2 * 4)::int AS tag_count,
           -- Rank k of A authors with weight 1/(k + c), c = A/1000: the first few write hundreds.
           least(authors - 1, floor(c * power(authors / c + 1, random()) - c))::int AS author_rank,
           random() < 0.92 AS is_published,
           random() AS r
    FROM generate_series(:first::bigint, :first::bigint + :count::int - 1) AS n
    CROSS JOIN (SELECT cardinality(:author_ids::uuid[]) AS authors,
                       greatest(1, cardinality(:author_ids::uuid[]) / 1000.0)::float8 AS c) AS shape
),
written AS (
    SELECT d.*,
           CASE WHEN random() < 0.35 THEN 'The ' ELSE '' END
           || (SELECT string_agg(initcap((:words::name[])[1 + floor(random() ^ 3 * cardinality(:words::name[]))::int]),
                                 ' ')
               FROM generate_series(1, d.title_words)) AS title,
           (SELECT string_agg(CASE WHEN i % 9 = 1 THEN initcap(word) ELSE word END
                              || CASE WHEN i % 9 = 0 OR i = d.description_words THEN '.' ELSE '' END, ' ')
            FROM (SELECT i, (:words::name[])[1 + floor(random() ^ 3 * cardinality(:words::name[]))::int]::text AS word
                  FROM generate_series(1, d.description_words) AS i) AS drawn)
           || CASE WHEN d.n % 1000 = 500 THEN ' Marmalade.' ELSE '' END
           || CASE WHEN d.n % 10000 = 2500 THEN ' Quasar.' ELSE '' END
           || CASE WHEN d.n % 100000 = 7500 THEN ' Zeppelin.' ELSE '' END AS description
    FROM drafts AS d
),
created AS (
    INSERT INTO books (slug, isbn, title, subtitle, description, author_id, price, stock, is_published,
                       published_at, metadata, deleted_at)
    SELECT replace(lower(title), ' ', '-') || '-' || n,
           isbn,
           title,
           CASE WHEN random() < 0.25
                THEN (ARRAY['A Novel', 'A Memoir', 'Stories', 'Poems', 'A History', 'A Mystery', 'Essays',
                            'A Thriller'])[1 + floor(random() * 8)::int]
                ELSE ''
           END,
           description,
           (:author_ids::uuid[])[1 + author_rank],
           CASE WHEN random() < 0.01 THEN 0
                ELSE floor(4 + 46 * random() ^ 2)::numeric
                     + (ARRAY[0.99, 0.99, 0.99, 0.95, 0.50, 0.00])[1 + floor(random() * 6)::int]
           END,
           CASE WHEN random() < 0.12 THEN 0 ELSE 1 + floor(200 * random() ^ 2)::int END,
           is_published,
           CASE WHEN is_published THEN now() - interval '20 years' * r
                WHEN r < 0.5 THEN now() + interval '180 days' * r
           END,
           CASE WHEN random() < 0.7
                THEN jsonb_build_object('cover', jsonb_build_object(
                         'url', 'https://covers.bookshop.example/' || isbn || '.jpg', 'width', 600, 'height', 900))
                ELSE '{}'
           END
           || jsonb_build_object('pages', 48 + floor(random() ^ 2 * 900)::int,
                                 'format', (ARRAY['paperback', 'hardcover', 'ebook'])[1 + floor(random() * 3)::int]),
           CASE WHEN random() < 0.01 THEN now() - interval '2 years' * random() END
    FROM written
    RETURNING id, isbn
),
tagged AS (
    INSERT INTO book_tags (book_id, tag_id)
    SELECT DISTINCT created.id,
           (:tag_ids::uuid[])[1 + floor(random() ^ 2 * cardinality(:tag_ids::uuid[]))::int]
    FROM created
    JOIN drafts USING (isbn)
    CROSS JOIN LATERAL generate_series(1, drafts.tag_count)
    WHERE cardinality(:tag_ids::uuid[]) > 0
    RETURNING book_id
)
SELECT (SELECT count(*) FROM created) AS books, (SELECT count(*) FROM tagged) AS book_tags;

-- name: seed_reviews(first_book, last_book, count, words, user_ids)$
-- :count reviews of the published books numbered :first_book to :last_book (found by a range of
-- books_isbn_key), by customers drawn from :user_ids; a few books and a few customers get many.
-- A (book, customer) pair is drawn at most once (reviews_one_per_user_and_book); ratings lean to
-- 4 and 5; 60% carry a few words of text. Returns how many it wrote.
WITH shelf AS MATERIALIZED (
    SELECT array_agg(id ORDER BY isbn) AS ids
    FROM books
    WHERE isbn BETWEEN '978' || lpad(:first_book::bigint::text, 9, '0') || '0'
                   AND '978' || lpad(:last_book::bigint::text, 9, '0') || '9'
      AND is_published
),
drawn AS (
    SELECT seq,
           shelf.ids[1 + floor(random() ^ 2 * cardinality(shelf.ids))::int] AS book_id,
           (:user_ids::uuid[])[1 + floor(random() ^ 2 * cardinality(:user_ids::uuid[]))::int] AS user_id
    FROM shelf
    CROSS JOIN generate_series(1, :count::int * 3 / 2 + 10) AS seq
    WHERE cardinality(shelf.ids) > 0 AND cardinality(:user_ids::uuid[]) > 0
),
chosen AS (
    SELECT book_id, user_id, random() AS r,
           CASE WHEN random() < 0.6 THEN 5 + floor(random() * 26)::int ELSE 0 END AS body_words
    FROM (SELECT book_id, user_id FROM drawn GROUP BY book_id, user_id ORDER BY min(seq) LIMIT :count::int) AS firsts
),
created AS (
    INSERT INTO reviews (book_id, user_id, rating, body)
    SELECT book_id, user_id,
           CASE WHEN r < 0.05 THEN 1 WHEN r < 0.11 THEN 2 WHEN r < 0.25 THEN 3 WHEN r < 0.55 THEN 4 ELSE 5 END,
           coalesce((SELECT upper(left(body, 1)) || substr(body, 2) || '.'
                     FROM (SELECT string_agg(
                                      (:words::name[])[1 + floor(random() ^ 3 * cardinality(:words::name[]))::int], ' '
                                  ) AS body
                           FROM generate_series(1, body_words)) AS drawn), '')
    FROM chosen
    RETURNING 1
)
SELECT count(*) FROM created;

-- name: seed_analyze()!
-- Fresh planner statistics for every table the generator wrote, as the last step of a run.
ANALYZE users, authors, tags, books, book_tags, reviews;
